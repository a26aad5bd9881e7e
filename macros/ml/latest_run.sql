{#
    is_latest_run(registry): the condition that keeps, of the CTE or relation named `registry`
    (ml_model_registry), the one `run` row of the latest run: the run every mart that speaks of
    "the active model" or "this run" refers to.
#}
{% macro is_latest_run(registry) -%}
    {{ registry }}.model_kind = 'run'
    and {{ registry }}.run_id = (
        select max(runs.run_id) from {{ registry }} as runs
        where runs.model_kind = 'run'
    )
{%- endmacro %}
