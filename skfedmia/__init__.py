"""skfedmia: how much do (federated) models leak about their training data?"""

__version__ = "0.1.0"
