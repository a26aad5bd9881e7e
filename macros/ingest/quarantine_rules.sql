{#
    quarantine_rules(): the quarantine reasons in the order they are checked, each with the
    condition (over int_transactions__classified's columns) that puts a line there. The first
    that applies wins. The one place the order lives: int_transactions__classified builds its
    case expression from it, and the singular test assert_quarantine_priorities_follow_the_rules
    fails when the seed quarantine_reasons (the documented priorities) says otherwise.
#}
{% macro quarantine_rules() -%}
    {{ return([
        ('unparseable_value', 'is_unparseable'),
        ('out_of_range_value', 'is_out_of_range'),
        ('implausible_date', 'is_implausible_date'),
        ('null_customer', 'is_guest'),
        ('exact_duplicate', 'copy_number > 1'),
        ('cancellation', 'is_cancellation'),
        ('non_product_line', 'is_non_product'),
        ('non_positive_quantity', 'quantity <= 0'),
        ('non_positive_price', 'unit_price <= 0'),
    ]) }}
{%- endmacro %}
