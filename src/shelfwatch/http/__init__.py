"""The shared kernel: small pieces every app may use and none owns."""
