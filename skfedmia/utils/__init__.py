"""skfedmia subpackage."""
