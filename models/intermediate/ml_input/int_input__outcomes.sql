{#
    Raw rows by outcome ('clean' or the quarantine reason), for either input kind: what the ML
    layer reports when no customer is left to segment. A view: it is read only then.
#}
{{ config(materialized='view') }}

{%- if input_kind() == 'customers' %}
    {%- set classified = ref('int_customer_table__classified') %}
{%- else %}
{%- set classified = ref('int_transactions__classified') %}
{%- endif %}

select
    coalesce(quarantine_reason, 'clean') as outcome,
    count(*) as line_count
from {{ classified }}
group by coalesce(quarantine_reason, 'clean')
