"""What each app adds to the shared plumbing, registered by the app itself.

The plumbing (`check_connections`, `make run`'s launcher, the dashboard, `/healthz`, the alerts)
names no app: each app registers its pieces in its `AppConfig.ready()` and the plumbing runs
whatever is registered, in registration order:

    registry.connection_check("al-style", check_alstyle, external=True)   # check_connections
    registry.first_job("first order pull", "orders.tasks.pull_orders", needed=no_orders)  # make run
    registry.demo_data("demo pricing rule", seed_demo_pricing, sandbox="alstyle")          # make run
    registry.dashboard_panel("admin/orders/dashboard_panel.html")                          # dashboard
    registry.job(Job(name="orders.pull", run_model="orders.PullRun", ...))                # health, alerts
    registry.personal_data("orders.Order", ("customer_name", ...), "orders.view_customer_data")
    registry.role_permissions(registry.ORDER_MANAGERS, ["orders.accept_order", ...])           # roles

A `Job` is one periodic job as a monitor sees it: where its runs are recorded, how often it is
expected to succeed, when that is late enough to alert (`alert_after`) or to page (`page_after`:
`/healthz` answers 503), and how to queue it again when a run was abandoned. `/healthz`
(kaspisync.health) and the alerts read this one table.

Registering the same name twice replaces the first entry (an app's `ready()` may run twice in
tests); nothing here touches the database.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.apps import apps
from django.conf import settings


@dataclass(frozen=True)
class ConnectionCheck:
    """`check()` returns a line saying what it reached, or raises with what to fix."""

    name: str
    check: Callable[[], str]
    external: bool = False  # an outside service: `check_connections --skip-external` leaves it out


@dataclass(frozen=True)
class FirstJob:
    """Queued by `make run` at start while `needed()` is true (e.g. the app has no data yet), so
    a newcomer does not wait for beat's first interval."""

    description: str
    task: str
    needed: Callable[[], bool]
    kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DemoData:
    """Seeded by `make run` when the named sandbox serves the demo (never against real APIs);
    `seed()` returns what it created, in words, or None when there was nothing to do."""

    description: str
    seed: Callable[[], str | None]
    sandbox: str


@dataclass(frozen=True)
class DashboardPanel:
    """A template rendered on the admin dashboard with the dashboard's context; it decides itself
    whom to show what (`perms`)."""

    template: str


@dataclass(frozen=True)
class Job:
    """A periodic job: its runs, its expected interval, its alert and page thresholds.

    - `run_model` ("app_label.Model", a `kaspisync.models.JobRun`) and `run_filter` select its
      rows (e.g. {"kind": "full"}); the newest SUCCESS row is its last success.
    - `interval` is read from the setting named `interval_setting` (seconds) when asked, so a
      changed setting is followed.
    - `alert_after` / `page_after`: multiples of the interval without a success after which the
      alerts warn / `/healthz` answers 503 (None: never pages).
    - `lock_name`: the job lock its runs hold; a RUNNING row whose lock is dead was abandoned.
    - `task` + `task_kwargs`: how to queue it again after an abandoned run.
    """

    name: str
    label: str
    run_model: str
    interval_setting: str
    lock_name: str
    task: str
    run_filter: dict = field(default_factory=dict)
    task_kwargs: dict = field(default_factory=dict)
    alert_after: float = 3
    page_after: float | None = None

    @property
    def model(self):
        return apps.get_model(self.run_model)

    @property
    def interval(self) -> timedelta:
        return timedelta(seconds=float(getattr(settings, self.interval_setting)))

    @property
    def alert_threshold(self) -> timedelta:
        return self.interval * self.alert_after

    @property
    def page_threshold(self) -> timedelta | None:
        return None if self.page_after is None else self.interval * self.page_after

    def runs(self):
        return self.model.objects.filter(**self.run_filter)

    def matches(self, run) -> bool:
        """Whether a run row (of any model) is one of this job's runs."""
        return run._meta.label == self.model._meta.label and all(
            getattr(run, name) == value for name, value in self.run_filter.items()
        )


@dataclass(frozen=True)
class PersonalData:
    """Fields of a model that only users with `permission` may see, filter, search or sort on."""

    model: str
    fields: tuple[str, ...]
    permission: str


# The three roles (auth groups, kaspisync.roles): every one sees everything read-only but customer
# personal data; the managers add what their apps register for them.
PRICE_MANAGERS = "Менеджеры цен"
ORDER_MANAGERS = "Менеджеры заказов"
VIEWERS = "Наблюдатели"
ROLES = (PRICE_MANAGERS, ORDER_MANAGERS, VIEWERS)

_connection_checks: dict[str, ConnectionCheck] = {}
_first_jobs: dict[str, FirstJob] = {}
_demo_data: dict[str, DemoData] = {}
_dashboard_panels: dict[str, DashboardPanel] = {}
_jobs: dict[str, Job] = {}
_personal_data: dict[str, PersonalData] = {}
_role_permissions: dict[str, set[str]] = {role: set() for role in ROLES}


def connection_check(name: str, check: Callable[[], str], *, external: bool = False) -> None:
    _connection_checks[name] = ConnectionCheck(name, check, external)


def first_job(description: str, task: str, *, needed: Callable[[], bool], kwargs: dict | None = None) -> None:
    _first_jobs[description] = FirstJob(description, task, needed, dict(kwargs or {}))


def demo_data(description: str, seed: Callable[[], str | None], *, sandbox: str) -> None:
    _demo_data[description] = DemoData(description, seed, sandbox)


def dashboard_panel(template: str) -> None:
    _dashboard_panels[template] = DashboardPanel(template)


def job(spec: Job) -> None:
    _jobs[spec.name] = spec


def personal_data(model: str, fields, permission: str) -> None:
    _personal_data[model.lower()] = PersonalData(model.lower(), tuple(fields), permission)


def role_permissions(role: str, permissions) -> None:
    """Grant a role ("app_label.codename" each) more than the read-only view every role has."""
    _role_permissions[role].update(permissions)


def granted(role: str) -> set[str]:
    return set(_role_permissions[role])


def connection_checks() -> list[ConnectionCheck]:
    return list(_connection_checks.values())


def first_jobs() -> list[FirstJob]:
    return list(_first_jobs.values())


def demo_data_sets() -> list[DemoData]:
    return list(_demo_data.values())


def dashboard_panels() -> list[DashboardPanel]:
    return list(_dashboard_panels.values())


def jobs() -> list[Job]:
    return list(_jobs.values())


def get_job(name: str) -> Job:
    return _jobs[name]


def jobs_for(run) -> list[Job]:
    """The registered jobs a run row belongs to (usually one)."""
    return [spec for spec in _jobs.values() if spec.matches(run)]


def personal_fields(model) -> PersonalData | None:
    """The personal-data declaration of a model class (None: nothing personal)."""
    return _personal_data.get(model._meta.label_lower)
