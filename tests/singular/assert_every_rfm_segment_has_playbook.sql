-- Every segment a rule can assign has a description and recommended action in rfm_segments.
select distinct rules.segment_name
from {{ ref('rfm_segment_rules') }} as rules
left join {{ ref('rfm_segments') }} as playbook
    on rules.segment_name = playbook.segment_name
where playbook.segment_name is null
