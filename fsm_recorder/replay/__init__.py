"""Re-driving a recorded session against today's code to find where the two runs part ways."""
