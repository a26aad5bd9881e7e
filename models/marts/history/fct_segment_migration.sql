{#
    Segment migration between consecutive runs: for each pair of runs, how many customers (and
    how much of their current net revenue) went from each segment to each segment, and whether
    that is a move or only a new name (movement: across a refit, the to segment continuing the
    from segment, per dim_segment_lineage, is the same segment). Only the customers present in
    both runs count, so a pair's rows add up to them. Appended per new run.
#}

{#- history is never rebuilt, not even by --full-refresh (drop the table to start it over); a
    column added by a release is appended, null for the run pairs before it #}
{{ config(
    materialized='incremental', incremental_strategy='append', on_schema_change='append_new_columns',
    full_refresh=false
) }}

with

history as (

    select * from {{ ref('fct_customer_segment_history') }}

),

runs as (

    select distinct
        run_id,
        as_of_date,
        model_version
    from history

),

pairs as (

    select
        run_id as to_run_id,
        lag(run_id) over (order by run_id) as from_run_id
    from runs

),

new_pairs as (

    select
        from_run_id,
        to_run_id
    from pairs
    where
        from_run_id is not null
    {%- if is_incremental() %}
        and to_run_id > (select coalesce(max(migration.to_run_id), 0) from {{ this }} as migration)
        {%- endif %}

),

lineage as (

    select * from {{ ref('dim_segment_lineage') }}

),

moves as (

    select
        new_pairs.from_run_id,
        new_pairs.to_run_id,
        before.segment_name as from_segment,
        after.segment_name as to_segment,
        after.monetary_value,
        case
            when before.model_version = after.model_version
                then case when before.cluster_id = after.cluster_id then 'stayed' else 'moved' end
            -- no match recorded between these two versions: by name
            when lineage.model_version is null or lineage.previous_model_version <> before.model_version
                then case when before.segment_name = after.segment_name then 'stayed' else 'moved' end
            when lineage.previous_cluster_id = before.cluster_id
                then case when before.segment_name = after.segment_name then 'stayed' else 'relabelled' end
            else 'moved'
        end as movement
    from new_pairs
    inner join history as before
        on new_pairs.from_run_id = before.run_id
    inner join history as after
        on new_pairs.to_run_id = after.run_id
        and before.customer_id = after.customer_id
    left join lineage
        on after.model_version = lineage.model_version
        and after.cluster_id = lineage.cluster_id

),

final as (

    select
        cast(moves.from_run_id as integer) as from_run_id,
        cast(moves.to_run_id as integer) as to_run_id,
        from_runs.as_of_date as from_as_of_date,
        to_runs.as_of_date as to_as_of_date,
        cast(from_runs.model_version as integer) as from_model_version,
        cast(to_runs.model_version as integer) as to_model_version,
        moves.from_segment,
        moves.to_segment,
        (moves.from_segment = moves.to_segment) as is_same_segment,
        moves.movement,
        cast(count(*) as bigint) as customers,
        cast({{ sum_money('moves.monetary_value') }} as {{ type_double() }}) as revenue
    from moves
    inner join runs as from_runs
        on moves.from_run_id = from_runs.run_id
    inner join runs as to_runs
        on moves.to_run_id = to_runs.run_id
    group by
        moves.from_run_id, moves.to_run_id, from_runs.as_of_date, to_runs.as_of_date,
        from_runs.model_version, to_runs.model_version, moves.from_segment, moves.to_segment,
        moves.movement

)

select * from final
