"""Rules: rule kinds as data, the streaming evaluation engine, and the VN_AQI derived metric."""
