{#
    score_nearest_centroid(relation, id_column='customer_id'): assigns every row of `relation`
    (which must have the segmentation feature columns) to the nearest centroid, in pure SQL, from
    the published preprocessing and centroid tables. No Python at scoring time, so any engine or
    BI tool can assign segments.

    Steps per feature, as the Python pipeline does: sign(x) * ln(1 + |x|) when log-transformed,
    clip to [clip_lower, clip_upper], standardise with scaler_mean / scaler_scale; then the
    Euclidean distance to every centroid; the smallest wins (ties: the lower cluster_id).
    Returns: <id_column>, cluster_id, segment_name, distance_to_centroid.
    A model fitted with PCA (segmentation_pca_components > 0) is scored in its components: each
    component is sum_f (scaled_f - pca_mean_f) * loading_jf (marts.dim_segmentation_pca_loadings),
    a linear projection, so it is plain SQL too.
#}
{% macro score_nearest_centroid(relation, id_column='customer_id') -%}
    {%- set features = var('segmentation_features') -%}
    {%- set n_components = var('segmentation_pca_components', 0) | int -%}
    {#- the model's dimensions: the PCA components, or the features themselves -#}
    {%- set dimensions = [] -%}
    {%- for j in range(n_components) -%}
        {%- do dimensions.append('pc_' ~ (j + 1)) -%}
    {%- endfor -%}
    {%- if not dimensions -%}
        {%- set dimensions = features -%}
    {%- endif -%}
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

{%- if n_components > 0 %}
    loadings as (

        select * from {{ ref('dim_segmentation_pca_loadings') }}

    ),

    loadings_wide as (

        select
            {%- for j in range(n_components) %}
            {%- set outer = loop %}
            {%- for feature in features %}
            max(case when component = {{ j + 1 }} and feature = {{ sql_string(feature) }} then loading end)
                as loading_{{ j + 1 }}_{{ loop.index }},
            {%- endfor %}
            {%- endfor %}
            {%- for feature in features %}
            max(case when component = 1 and feature = {{ sql_string(feature) }} then pca_mean end)
                as pca_mean_{{ loop.index }}{{ ',' if not loop.last }}
            {%- endfor %}
        from loadings

    ),

    projected as (

        -- the PCA components, summed in one fixed order per component
        select
            standardised.entity_id,
            {%- for j in range(n_components) %}
            {%- set component = j + 1 %}
            (
                {%- for feature in features %}
                {{ '+ ' if not loop.first }}(standardised.scaled_{{ loop.index }} - loadings_wide.pca_mean_{{ loop.index }})
                * loadings_wide.loading_{{ component }}_{{ loop.index }}
                {%- endfor %}
            ) as dimension_{{ component }}{{ ',' if not loop.last }}
            {%- endfor %}
        from standardised
        cross join loadings_wide

    ),
{%- else %}
    projected as (

        select
            entity_id,
            {%- for feature in features %}
            scaled_{{ loop.index }} as dimension_{{ loop.index }}{{ ',' if not loop.last }}
            {%- endfor %}
        from standardised

    ),
{%- endif %}

    centroids_wide as (

        select
            cluster_id,
            segment_name,
            {%- for dimension in dimensions %}
            max(case when dimension = {{ sql_string(dimension) }} then centroid_scaled end) as centroid_{{ loop.index }}
            {{- ',' if not loop.last }}
            {%- endfor %}
        from centroids
        group by cluster_id, segment_name

    ),

    distances as (

        select
            projected.entity_id,
            centroids_wide.cluster_id,
            centroids_wide.segment_name,
            sqrt(
                {%- for dimension in dimensions %}
                {{ '+ ' if not loop.first }}(projected.dimension_{{ loop.index }} - centroids_wide.centroid_{{ loop.index }})
                * (projected.dimension_{{ loop.index }} - centroids_wide.centroid_{{ loop.index }})
                {%- endfor %}
            ) as distance_to_centroid
        from projected
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
