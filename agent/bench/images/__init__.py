"""Instance images built without a registry (issue 12, point 2): the plan of the layers
(spec.py), what an environment installs (requirements.py), a wheelhouse filled on the host
(wheels.py) and the offline docker builds (docker_build.py). Not yet wired into a command."""
