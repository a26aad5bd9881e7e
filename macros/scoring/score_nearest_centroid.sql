{#
    score_nearest_centroid(relation, id_column='customer_id'): assigns every row of `relation`
    (which must have the segmentation feature columns) to the nearest centroid, in pure SQL, from
    the published preprocessing and centroid tables. No Python at scoring time, so any engine or
    BI tool can assign segments.

    Steps per feature, as the Python pipeline does: sign(x) * ln(1 + |x|) when log-transformed,
    clip to [clip_lower, clip_upper], standardise with scaler_mean / scaler_scale; then the
    Euclidean distance to every centroid; the smallest wins (ties: the lower cluster_id).
    Returns: <id_column>, cluster_id, segment_name, distance_to_centroid.
    Models fitted with PCA (segmentation_pca_components > 0) are not supported here.
#}
{% macro score_nearest_centroid(relation, id_column='customer_id') -%}
    {%- if var('segmentation_pca_components', 0) | int > 0 -%}
        {{ exceptions.raise_compiler_error(
            "score_nearest_centroid does not support PCA models; set segmentation_pca_components: 0"
        ) }}
    {%- endif -%}
    {%- set features = var('segmentation_features') -%}
    with

    scoring_input as (

        select * from {{ relation }}

    ),

    preprocessing as (

        select * from {{ ref('dim_segmentation_preprocessing') }}

    ),

    centroids as (

        select * from {{ ref('dim_segment_centroids') }}

    ),

    standardised as (

        -- one column per feature, so every distance below adds its terms in the same order
        -- (a grouped sum adds them in whatever order rows arrive: last-bit differences)
        select
            scoring_input.{{ id_column }} as entity_id,
            {%- for feature in features %}
            (
                least(
                    greatest(
                        case
                            when preprocessing_{{ loop.index }}.log_transformed
                                then sign(cast(scoring_input.{{ sql_identifier(feature) }} as {{ type_double() }}))
                                    * ln(1 + abs(cast(scoring_input.{{ sql_identifier(feature) }} as {{ type_double() }})))
                            else cast(scoring_input.{{ sql_identifier(feature) }} as {{ type_double() }})
                        end,
                        preprocessing_{{ loop.index }}.clip_lower
                    ),
                    preprocessing_{{ loop.index }}.clip_upper
                ) - preprocessing_{{ loop.index }}.scaler_mean
            ) / preprocessing_{{ loop.index }}.scaler_scale as scaled_{{ loop.index }}{{ ',' if not loop.last }}
            {%- endfor %}
        from scoring_input
        {%- for feature in features %}
        cross join (
            select * from preprocessing where feature = {{ sql_string(feature) }}
        ) as preprocessing_{{ loop.index }}
        {%- endfor %}

    ),

    centroids_wide as (

        select
            cluster_id,
            segment_name,
            {%- for feature in features %}
            max(case when dimension = {{ sql_string(feature) }} then centroid_scaled end) as centroid_{{ loop.index }}
            {{- ',' if not loop.last }}
            {%- endfor %}
        from centroids
        group by cluster_id, segment_name

    ),

    distances as (

        select
            standardised.entity_id,
            centroids_wide.cluster_id,
            centroids_wide.segment_name,
            sqrt(
                {%- for feature in features %}
                {{ '+ ' if not loop.first }}(standardised.scaled_{{ loop.index }} - centroids_wide.centroid_{{ loop.index }})
                * (standardised.scaled_{{ loop.index }} - centroids_wide.centroid_{{ loop.index }})
                {%- endfor %}
            ) as distance_to_centroid
        from standardised
        cross join centroids_wide

    ),

    ranked as (

        select
            *,
            row_number() over (partition by entity_id order by distance_to_centroid, cluster_id) as distance_rank
        from distances

    )

    select
        entity_id as {{ id_column }},
        cluster_id,
        segment_name,
        distance_to_centroid
    from ranked
    where distance_rank = 1
{%- endmacro %}


{#
    classifier_tree_case(): the explainable decision tree as a SQL case expression returning the
    cluster id, read at compile time from the published rule table. Use it on any relation with
    the customer feature columns: select {{ classifier_tree_case() }} as cluster_id from ...
#}
{% macro classifier_tree_case() -%}
    {%- if not execute -%}
        {{ return('cast(null as integer)') }}
    {%- endif -%}
    {%- set found = run_query('select max(tree_case_sql) from ' ~ ref('dim_classifier_tree_rules')) -%}
    {{ return(found.columns[0].values()[0]) }}
{%- endmacro %}
