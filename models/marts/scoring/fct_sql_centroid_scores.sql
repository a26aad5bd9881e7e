{#
    Every customer assigned to its nearest centroid in pure SQL (macro score_nearest_centroid).
    A singular test proves it equals the Python assignment for every customer.
#}
{{ score_nearest_centroid(ref('int_customers__segmentation_input')) }}
