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
