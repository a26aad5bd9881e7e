{#
    The files of this build's input that were not read, one row each, with the reason
    (macros/ingest/batches.sql): same_content_in_input (another file of the same input has the
    same bytes; its first file, in name order, is read) or already_loaded (the warehouse holds a
    file with these bytes, in batch same_as_batch_id). Computed before the line store takes this
    build's batch (int_transactions__classified depends on this model), from the same plan that
    staging reads with; the rows are literals from that plan, each value through sql_string().
#}

{{ config(enabled=input_kind() == 'transactions') }}

{%- set src = transactions_source() -%}
{%- set plan = batch_plan(src, loaded_batches()) if src is not none else none -%}
{%- set skipped = plan['skipped'] if plan is not none else [] -%}

with

skipped as (

    {% for skip in skipped -%}
    select
        {{ sql_string(skip['file']) }} as source_file,
        {{ sql_string(skip['fingerprint']) }} as file_fingerprint,
        {{ sql_string(skip['reason']) }} as skip_reason,
        {{ sql_string(skip['same_as_file']) }} as same_as_file,
        {{ skip['same_as_batch_id'] if skip['same_as_batch_id'] is not none else 'null' }} as same_as_batch_id
    {% if not loop.last %}union all
    {% endif -%}
    {%- else -%}
    select
        null as source_file,
        null as file_fingerprint,
        null as skip_reason,
        null as same_as_file,
        null as same_as_batch_id
    where 1 = 0
    {%- endfor %}

),

final as (

    select
        cast({{ sql_string(run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f')) }} as {{ dbt.type_timestamp() }})
            as skipped_at,
        cast(source_file as {{ dbt.type_string() }}) as source_file,
        cast(file_fingerprint as {{ dbt.type_string() }}) as file_fingerprint,
        cast(skip_reason as {{ dbt.type_string() }}) as skip_reason,
        cast(same_as_file as {{ dbt.type_string() }}) as same_as_file,
        cast(same_as_batch_id as integer) as same_as_batch_id
    from skipped

)

select * from final
