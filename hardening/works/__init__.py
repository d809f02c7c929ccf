"""Housing security works: recommendations, work orders, SLA clocks and operative schedules."""
