{#
    should_full_refresh(): dbt's own rule (a model's full_refresh config, else the
    --full-refresh flag), plus one case: a build whose database pull replaces rows already loaded
    rebuilds the line store and every table kept incrementally from it, as --full-refresh would
    (macro table_reload; docs/database.md). Models with full_refresh: false (the history marts)
    keep their rows, as they do on --full-refresh. dbt's incremental materialization and
    is_incremental() both ask this macro; the project's version takes precedence over dbt's.
#}
{% macro should_full_refresh() -%}
    {%- set config_full_refresh = config.get('full_refresh') -%}
    {%- if config_full_refresh is none -%}
        {%- set config_full_refresh = flags.FULL_REFRESH or table_reload() -%}
    {%- endif -%}
    {{ return(config_full_refresh) }}
{%- endmacro %}
