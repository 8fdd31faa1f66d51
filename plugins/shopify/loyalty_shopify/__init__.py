"""loyalty-shopify: Shopify orders earn, refunds claw back, customers become members."""
