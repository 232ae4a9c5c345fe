"""Examples of fsm-recorder, runnable and tested."""
