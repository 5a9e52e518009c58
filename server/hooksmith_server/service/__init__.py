"""Use cases: what each RPC does, over the store, rendering and delivery."""
