{#
    The seed quarantine_reasons documents each reason's priority; the macro quarantine_rules()
    is the order the model checks. Fails with every reason whose priority differs, or that is
    in only one of the two.
#}

with

rules as (

    {% for reason, condition in quarantine_rules() -%}
    select
        {{ sql_string(reason) }} as reason_code,
        {{ loop.index }} as priority
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

seed as (

    select
        reason_code,
        priority
    from {{ ref('quarantine_reasons') }}

)

select
    coalesce(rules.reason_code, seed.reason_code) as reason_code,
    rules.priority as checked_as,
    seed.priority as seed_priority
from rules
full outer join seed
    on rules.reason_code = seed.reason_code
where rules.priority is null or seed.priority is null or rules.priority <> seed.priority
