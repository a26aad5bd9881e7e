{#
    The value models' closed forms in SQL: Gamma-Gamma's expected order value (custseg.value.btyd
    has the same in Python; a test keeps them equal to 1e-9), the churn-risk bands and the active
    model's usable parameters. Arguments are SQL expressions: x repeat purchase periods, m the
    mean repeat value, p, q, v the Gamma-Gamma parameters. Null parameters (a version without
    usable ones) give null. P(alive) and the churn risk are the purchase models'
    (ml_customer_value_scores): Pareto/NBD's need the Gauss hypergeometric function.
#}

{# gamma_gamma_expected_value: E(M | x, m) = p (v + x m) / (p x + q - 1); without a repeat
   purchase, the population mean p v / (q - 1). #}
{% macro gamma_gamma_expected_value(x, m, p, q, v) -%}
    case
        when {{ x }} > 0 then {{ p }} * ({{ v }} + {{ x }} * {{ m }}) / ({{ p }} * {{ x }} + {{ q }} - 1)
        else {{ p }} * {{ v }} / ({{ q }} - 1)
    end
{%- endmacro %}


{# churn_risk_band(churn_risk): low (< 1/3), medium (< 2/3) or high; null for null. #}
{% macro churn_risk_band(churn_risk) -%}
    case
        when {{ churn_risk }} is null then null
        when {{ churn_risk }} < 1.0 / 3 then 'low'
        when {{ churn_risk }} < 2.0 / 3 then 'medium'
        else 'high'
    end
{%- endmacro %}


{# usable_value_parameters(active_model): the active value model's version, status, message,
   chosen purchase model and whether its dropout stopped at the search bound, with the
   Gamma-Gamma parameters only when it has usable ones (status fitted; else null, so every
   prediction is null and the marts say why). #}
{% macro usable_value_parameters(active_model) -%}
    select
        value_model_version,
        status,
        status_message,
        coalesce(clv_model, 'bgnbd') as clv_model,
        coalesce(dropout_at_bound, false) as dropout_at_bound,
        {%- for parameter in ['gg_p', 'gg_q', 'gg_v'] %}
        case when status = 'fitted' then {{ parameter }} end as {{ parameter }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ active_model }}
{%- endmacro %}
