"""v2v-pipeline
"""

__version__ = "0.1"
