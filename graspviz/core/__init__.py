"""The core layer: value types, the world-model protocol, configs, update rules, schedules, metric names,
the run format and the device rule. It imports nothing else of graspviz (torch and numpy only), so every
other layer can build on it and importing one of its modules is cheap."""
