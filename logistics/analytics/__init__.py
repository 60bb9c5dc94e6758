"""Operations analytics: every ticket and handled conversation tagged, complaint spikes and concentrations detected,
alerts with evidence and a suggested action (see ANALYTICS.md)."""
