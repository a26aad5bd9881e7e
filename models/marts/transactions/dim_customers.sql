{#
    One row per customer: RFM and engineered features, RFM quintile scores and the rule-based
    RFM segment with its description and recommended action. The table analysts start from.
    The features and scores are int_customers__rfm_scored's (the table the ML layer reads).
#}
{{ config(enabled=input_kind() == 'transactions') }}


with

customers as (

    select * from {{ ref('int_customers__rfm_scored') }}

),

playbook as (

    select * from {{ ref('rfm_segments') }}

),

final as (

    select
        customers.*,
        playbook.description as rfm_segment_description,
        playbook.recommended_action as rfm_recommended_action
    from customers
    left join playbook
        on customers.rfm_segment = playbook.segment_name

)

select * from final
