"""The console UI kit: page shell, i18n, live-feed helpers, assets and the design system."""
