"""Run transitions' own test suite against fsm-recorder's recorded classes (issue acceptance).

The recorded classes claim to be drop-in replacements that change nothing of transitions'
semantics: callback order, return values, exceptions and MachineError, queued transitions,
conditions, internal and reflexive transitions, several models per machine, nested and parallel
states, asyncio. transitions' own suite is the most complete statement of those semantics, so
tests/test_transitions_suite.py runs it twice, once as published and once against the recorded
classes, and requires the same outcome for every test id.

- `runner`: fetches the suite (`pip download --no-binary :all: transitions==<installed>`, cached in
  the pytest cache), runs both in parallel subprocesses and compares outcomes. Differences that do
  not reproduce on a second run of just those tests are timing flakes of transitions' threading
  tests (they assert delays to 0.1 s) and are reported, not counted.
- `outcomes`: pytest plugin of every run, writes each test's outcome and failure message.
- `substitute`: pytest plugin of the recorded run. While the test modules are imported it rebinds
  every `transitions*` module attribute that holds `Machine`, `HierarchicalMachine`, `AsyncMachine`
  or `HierarchicalAsyncMachine` to the recorded subclass, and restores them after collection, so
  the tests use the recorded classes everywhere they name one while transitions' own code keeps
  its originals. `MachineFactory.get_predefined` serves the recorded classes for the whole run.
  Every machine records into a memory recorder; at the end the plugin decodes all frames and
  writes a summary (records, sessions, errors, drops, gaps, records per test module).
- `expected`: the differences that are artifacts of the substitution, each with its reason and the
  failure message it must have.

Out of scope: LockedMachine and the diagram machines (GraphMachine, MarkupMachine and their
combinations) have no recorded counterpart; their tests run against the originals in both runs.
The diagram test modules and test_codestyle.py are ignored in both runs (optional backends, flake8).
"""
