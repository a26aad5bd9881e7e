{#
    Files a build was given but did not read, and why: one row per file per build, appended
    (a weekly build over a folder glob lists the files loaded in earlier weeks as already_loaded;
    two names for the same bytes in one input list the second as same_content_in_input).
    A --full-refresh starts the list again.
#}

{{ config(
    enabled=input_kind() == 'transactions',
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail'
) }}

with

skipped as (

    select * from {{ ref('int_transactions__skipped_files') }}

),

final as (

    select
        skipped_at,
        source_file,
        file_fingerprint,
        skip_reason,
        same_as_file,
        same_as_batch_id
    from skipped

)

select * from final
