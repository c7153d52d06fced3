"""Process start-up for tests, benchmarks and the load test: private servers on quiet ports, waited for
by port, stopped by the PIDs started here (see DESIGN.md section 9)."""
