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

    feature_values as (

        {%- for feature in features %}
        select
            {{ id_column }} as entity_id,
            '{{ feature }}' as feature,
            cast({{ feature }} as {{ type_double() }}) as raw_value
        from scoring_input
        {% if not loop.last %}union all{% endif %}
        {%- endfor %}

    ),

    standardised as (

        select
            feature_values.entity_id,
            feature_values.feature,
            (
                least(
                    greatest(
                        case
                            when preprocessing.log_transformed
                                then sign(feature_values.raw_value) * ln(1 + abs(feature_values.raw_value))
                            else feature_values.raw_value
                        end,
                        preprocessing.clip_lower
                    ),
                    preprocessing.clip_upper
                ) - preprocessing.scaler_mean
            ) / preprocessing.scaler_scale as scaled_value
        from feature_values
        inner join preprocessing
            on feature_values.feature = preprocessing.feature

    ),

    distances as (

        select
            standardised.entity_id,
            centroids.cluster_id,
            centroids.segment_name,
            sqrt(sum((standardised.scaled_value - centroids.centroid_scaled)
                * (standardised.scaled_value - centroids.centroid_scaled))) as distance_to_centroid
        from standardised
        inner join centroids
            on standardised.feature = centroids.dimension
        group by standardised.entity_id, centroids.cluster_id, centroids.segment_name

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
