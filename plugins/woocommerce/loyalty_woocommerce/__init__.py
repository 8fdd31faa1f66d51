"""WooCommerce for loyalty-sdk."""
