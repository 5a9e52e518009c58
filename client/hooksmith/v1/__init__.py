"""Generated code for the `hooksmith.v1` protobuf package (`make proto`)."""
