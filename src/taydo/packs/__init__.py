"""Reference packs: deployments' data shipped as plugins."""
