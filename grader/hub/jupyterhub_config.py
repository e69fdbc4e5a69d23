"""JupyterHub's configuration for a classroom, loaded by ``jupyterhub -f`` (``grader hub``
starts it so). Everything comes from the classroom's settings file, named by the
``GRADER_HUB_SETTINGS`` environment variable: see :mod:`grader.hub.settings`."""

import os
from pathlib import Path

from grader.hub.settings import SETTINGS_ENV, read_settings
from grader.hub.supervise import poll_services_every
from grader.kernel_environment import KERNEL_ENVIRONMENT

c = get_config()  # noqa: F821 - provided by JupyterHub when it loads this file

settings = read_settings(Path(os.environ[SETTINGS_ENV]))
state = Path(settings.state)
venv = Path(settings.venv_bin)
#: Programs the classroom's processes find: the course's environment first, then the system's
#: (the service's sandbox creates its users with useradd, from /usr/sbin).
PATH = f"{venv}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

c.JupyterHub.ip = settings.ip
c.JupyterHub.port = settings.port
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = settings.hub_port
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every single-user server
c.JupyterHub.cleanup_proxy = True
c.ConfigurableHTTPProxy.command = [settings.proxy]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings.proxy_api_port}"
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")

# Who may log in: PAM (the machine's accounts) unless the extra config names another
# authenticator. The instructor is the hub's admin.
c.Authenticator.allowed_users = {settings.instructor, *settings.students}
c.Authenticator.admin_users = {settings.instructor}

# Each user's server runs as that user's Unix account, in their home folder, in JupyterLab.
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(venv / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.poll_interval = 5  # a user's server that stopped is noticed within seconds


def _environment(spawner):
    """The instructor's server sees the course (Formgrader); a student's sees only the
    exchange (Assignments), with Formgrader and Courses switched off. Their kernels start with
    the course's settings for the libraries' numbers, as the grading service's do."""
    role = "instructor" if spawner.user.name == settings.instructor else "student"
    spawner.environment.update(
        {
            SETTINGS_ENV: str(settings.path),  # marks every process of this classroom
            "JUPYTER_CONFIG_PATH": str(settings.user_config(role)),
            "PATH": PATH,
            "TF_CPP_MIN_LOG_LEVEL": "3",
            **KERNEL_ENVIRONMENT,
        }
    )


c.Spawner.pre_spawn_hook = _environment

# The grading service: started, and started again if it dies, by the hub; runs as the hub's
# user (root: it reads private submissions and runs the engine's sandbox). The hub checks on
# it every 5 s, so that a service that died is started again within seconds.
poll_services_every(5)
c.JupyterHub.services = [
    {
        "name": "grading",
        "command": [str(venv / "python"), "-m", "grader.hub.service", str(settings.path)],
        "environment": {
            SETTINGS_ENV: str(settings.path),
            "PATH": PATH,
            "TF_CPP_MIN_LOG_LEVEL": "3",
        },
    }
]

if settings.extra_config:
    load_subconfig(settings.extra_config)  # noqa: F821 - provided by JupyterHub
