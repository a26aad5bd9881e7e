{#
    The value models' closed forms in SQL (custseg.value.btyd has the same in Python; a test keeps
    them equal to 1e-9). Arguments are SQL expressions: x repeat purchase periods, t_x and T
    the periods from the first purchase to the last and to the snapshot, m the mean repeat value;
    r, alpha, a, b the BG/NBD and p, q, v the Gamma-Gamma parameters. Null parameters (a version
    without usable ones) give null.
#}

{# bgnbd_p_alive: P(alive | x, t_x, T): 1 without a repeat purchase (BG/NBD drops a customer
   only after a purchase), else 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x))^(r + x)). #}
{% macro bgnbd_p_alive(x, t_x, T, r, alpha, a, b) -%}
    case
        when {{ r }} is null then null
        when {{ x }} = 0 then cast(1 as {{ type_double() }})
        else 1.0 / (1.0 + exp(
            ln({{ a }}) - ln({{ b }} + {{ x }} - 1)
            + ({{ r }} + {{ x }}) * (ln({{ alpha }} + {{ T }}) - ln({{ alpha }} + {{ t_x }}))
        ))
    end
{%- endmacro %}


{# bgnbd_p_no_purchase: the probability of no purchase in the next t periods: dropped out, or
   alive with no purchase of the Poisson process whose rate is Gamma(r + x, alpha + T):
   1 - P(alive) * (1 - ((alpha + T) / (alpha + T + t))^(r + x)). #}
{% macro bgnbd_p_no_purchase(p_alive, x, T, t, r, alpha) -%}
    1.0 - {{ p_alive }} * (1.0 - exp(({{ r }} + {{ x }}) * (ln({{ alpha }} + {{ T }}) - ln({{ alpha }} + {{ T }} + {{ t }}))))
{%- endmacro %}


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


{# btyd_at_search_bound(parameter): the fitted parameter stopped at the search bound of
   custseg.value.btyd.BOUNDS (1e-4 or 1e6, within the fit's 1e-3 on the log scale): the data do
   not identify it. #}
{% macro btyd_at_search_bound(parameter) -%}
    ({{ parameter }} < 1.001e-4 or {{ parameter }} > 0.999e6)
{%- endmacro %}


{# usable_value_parameters(active_model): the active value model's version, status and message,
   with its parameters only when it has usable ones (status fitted; else null, so every
   prediction is null and the marts say why). #}
{% macro usable_value_parameters(active_model) -%}
    select
        value_model_version,
        status,
        status_message,
        {%- for parameter in ['bgnbd_r', 'bgnbd_alpha', 'bgnbd_a', 'bgnbd_b', 'gg_p', 'gg_q', 'gg_v'] %}
        case when status = 'fitted' then {{ parameter }} end as {{ parameter }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ active_model }}
{%- endmacro %}
