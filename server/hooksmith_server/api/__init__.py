"""The gRPC API: servicer, authentication, proto <-> domain conversion, error mapping."""
