{#
    primary_key: the column is a key, unique and never null, checked in one query (dbt's unique
    and not_null would be two nodes, two scans and two compilations for one fact). Fails with
    every value that appears more than once, and with null when it appears at all.
    data_tests: [primary_key]
#}
{% test primary_key(model, column_name) %}

select
    {{ column_name }} as key_value,
    count(*) as row_count
from {{ model }}
group by {{ column_name }}
having count(*) > 1 or {{ column_name }} is null

{% endtest %}
