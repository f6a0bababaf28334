"""The Dash app: a fixed, collapsible sidebar and the pages of the page registry.

The built-in pages (each one file that registers itself, `pages.register_page`): "/"
explore one variant in groups of panels (`explore.py`), "/compare" overlay variants,
"/runs" list the store's runs and live job progress. The shell (`shell.py`) builds the
navigation, the routing and the URL state from the registry. `serve` runs the app under
waitress, a production WSGI server. Only the dashboard's own pages may drive it:
requests naming another Host, or posted from another Origin, are refused (guard), and
starting a job needs the server's secret launch token, which only its pages carry
(jobs_panel).
"""

from __future__ import annotations

import logging
import secrets
import socket

from dash import Dash

from workbench.core.errors import UserError
from workbench.core.view import list_views
from workbench.store import Store
from workbench.ui.dashboard import clientside, compare, explore, guard, playback, reports, runs, shell  # noqa: F401  (pages register on import)
from workbench.ui.dashboard.layout import store_problem
from workbench.ui.dashboard.pages import Site
from workbench.ui.dashboard.shell import row_link

__all__ = ["create_app", "serve", "row_link"]

log = logging.getLogger(__name__)

_CSS = """
body { margin: 0; font-family: system-ui, sans-serif; font-size: 14px; color: #222; }
#shell { display: flex; height: 100vh; overflow: hidden; }
#sidebar { width: 290px; flex: none; height: 100vh; overflow-y: auto; box-sizing: border-box;
           padding: 12px 14px; background: #f6f7f9; border-right: 1px solid #ddd; }
#shell.collapsed #sidebar { width: 0; padding: 0; border: 0; overflow: hidden; }
#main { flex: 1; min-width: 0; height: 100vh; overflow-y: auto; overflow-x: hidden; padding: 8px 16px 40px;
        box-sizing: border-box; }
#sidebar-toggle { position: fixed; left: 4px; bottom: 8px; z-index: 10; }
.nav a { margin-right: 12px; font-weight: 600; }
.control { margin: 14px 0; }
.control label { display: block; font-weight: 600; margin-bottom: 4px; }
.readout { color: #555; margin-top: 6px; font-size: 12px; }
.readout.spec { overflow-wrap: anywhere; }
.pick { display: flex; align-items: center; gap: 6px; min-width: 0; }
.fam-badge { flex: none; max-width: 45%; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; color: #fff;
             font-size: 11px; padding: 1px 5px; border-radius: 3px; }
.run-label { min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.option-note:not(:empty) { color: #a14a00; }  /* a value clamped to the run's range: what was asked for */
.control .choice label { display: inline-flex; align-items: center; font-weight: normal; margin: 0 14px 0 0; }
.play-row { display: flex; align-items: center; gap: 6px; margin-top: 4px; white-space: nowrap; }
.play-row button { font-size: 12px; padding: 2px 8px; cursor: pointer; min-width: 72px; }
.play-row .play-rate { font-size: 12px; white-space: nowrap; }
.play-row .play-rate label { display: inline-flex; align-items: center; font-weight: normal; margin: 0 4px 0 0; }
.keys-hint { color: #777; font-size: 12px; }
#keys-help { display: none; position: fixed; z-index: 50; left: 50%; top: 20%; transform: translateX(-50%);
             background: #fff; border: 1px solid #bbb; border-radius: 8px; padding: 14px 20px;
             box-shadow: 0 4px 24px rgba(0, 0, 0, 0.2); }
#keys-help.on { display: block; }
#keys-help td { padding: 3px 12px 3px 0; }
kbd { border: 1px solid #bbb; border-radius: 3px; padding: 0 4px; background: #f6f7f9; font-family: inherit; }
#epoch .dash-slider-mark { pointer-events: auto; cursor: pointer; }  /* a click lands on its checkpoint */
#sidebar .dash-slider-wrapper { padding: 0 14px; }  /* room for the end marks' labels */
.busy-note { display: none; color: #7e57c2; font-size: 12px; margin-top: 2px; }
.busy-note.on { display: block; }
.busy-note.on::before { content: ""; display: inline-block; width: 9px; height: 9px; margin-right: 6px;
    vertical-align: -1px; border: 2px solid #ddd; border-top-color: #7e57c2; border-radius: 50%;
    animation: wb-spin 0.8s linear infinite; }
.banner { background: #fff4e5; border: 1px solid #f0b35b; border-radius: 6px; padding: 10px 14px; margin: 10px 0;
          overflow-wrap: anywhere; }
.group { border: 1px solid #ddd; border-radius: 6px; margin: 10px 0; background: #fff; }
.group-head { width: 100%; text-align: left; background: #eef1f5; border: 0; padding: 8px 12px;
              font-size: 15px; font-weight: 600; cursor: pointer; border-radius: 6px; }
.group.open .group-head::before { content: "\\25BE  "; }
.group.closed .group-head::before { content: "\\25B8  "; }
.group.closed .group-body { display: none; }
.group.hidden { display: none; }
.compare-pickers { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 8px; margin-top: 8px; }
.preset-table { border-collapse: collapse; font-size: 13px; margin: 4px 0 8px; }
.preset-table th, .preset-table td { border-bottom: 1px solid #ddd; padding: 4px 12px; text-align: right; }
.preset-table th:first-child, .preset-table td:first-child { text-align: left; }
.group-body { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 8px; padding: 8px; }
.panel { position: relative; min-width: 0; }
/* a panel alone in its row (layout.lone_views: the last of an odd count, one before a wide panel, or
   its partner not shown for the run's family) spans it rather than leave half of it empty (issue 30
   item 10). A class the server sets with the figure, not a flex row: a flex item's width changed
   while its partner was being drawn, and Plotly drew a few frames at the old width */
.panel.wide, .panel.lone { grid-column: 1 / span 2; }
/* the export buttons sit in a strip of their own above the figure: drawn over it (top right) they
   covered Plotly's modebar (zoom, autoscale, reset axes) on hover (issue 30 item 4). Absolute in the
   panel's top padding, so the figure's own sizing (responsive, from its layout height) is untouched. */
.panel:not(.empty) { padding-top: 22px; }
.panel-tools { position: absolute; right: 4px; top: 0; z-index: 5; opacity: 0.35; }
.panel:hover .panel-tools { opacity: 1; }
button.export { font-size: 11px; padding: 1px 5px; margin-left: 2px; cursor: pointer; background: #fff;
                border: 1px solid #bbb; border-radius: 3px; }
.panel-msg { display: none; }
.panel.not-applicable { display: none; }
.panel.empty .panel-msg { display: block; padding: 14px 16px; min-height: 120px; color: #555; background: #fafafa;
                          border: 1px dashed #ccc; border-radius: 6px; overflow-wrap: anywhere; }
.panel.empty .js-plotly-plot, .panel.empty .panel-tools { display: none; }
.panel-msg .msg-title, .compare-msg .msg-title { font-weight: 600; color: #333; margin-bottom: 6px; }
.compare-msg { font-size: 12px; color: #555; padding: 0 8px 8px; overflow-wrap: anywhere; }
.panel.empty .compare-msg { padding: 14px 16px; min-height: 120px; background: #fafafa; border: 1px dashed #ccc;
                            border-radius: 6px; font-size: 14px; }
.panel-msg code, .compare-msg code { display: block; margin-top: 8px; padding: 6px 8px; background: #eef1f5; border-radius: 4px;
                  white-space: pre-wrap; word-break: break-all; user-select: all; }
/* The loading state, kept cheap to draw: a page-wide :has() rule, 14 spinning rings and an opacity
   transition on every stale panel cost ~250 ms of each epoch step with every panel on screen
   (bench/RESULTS.md); the one spinner is the sidebar's, the stale panels are dimmed and labelled. */
#panels.busy .panel.per-epoch .js-plotly-plot { opacity: 0.4; }
#panels.busy .panel.per-epoch::after { content: "updating…"; position: absolute; left: 50%; top: 80px;
    transform: translateX(-50%); padding: 2px 8px; border-radius: 4px; background: #7e57c2; color: #fff;
    font-size: 12px; }
@keyframes wb-spin { to { transform: rotate(360deg); } }
.dash-table-tooltip { overflow-wrap: anywhere; }  /* a damaged file's long path */
.page.hidden { display: none; }
#main.no-runs #panels { display: none; }  /* nothing to draw: the banner says what to run */
"""


def create_app(store: Store, launch: bool = False, hosts: guard.Hosts | None = None) -> Dash:
    """Build the dashboard for a store.

    Args:
        store: the artifact store to serve (read-only unless `launch`).
        launch: whether the Runs page may start jobs (workbench.ui.jobs) that write into the store.
        hosts: the Host names (and port) requests must name (default: loopback names, any port).
    Returns:
        A `dash.Dash` app; `serve` runs it, tests can mount `app.server` in any WSGI server.
    """
    list_views()  # loads the view plugins now, not in the first callback (a broken one is named on stderr)

    app = Dash(__name__, title="Training Dynamics Workbench", update_title=None,
               assets_folder="assets_unused", serve_locally=True)
    app.index_string = app.index_string.replace(
        "{%css%}", "{%css%}<style>" + _CSS + "</style><script>" + clientside.JS + playback.JS + "</script>")
    token = secrets.token_urlsafe(32) if launch else None  # per server: only pages it served can launch
    guard.install(app.server, hosts or guard.Hosts(guard.LOOPBACK_NAMES))  # first: before any other hook
    site = Site(store, launch, token)
    app.layout = shell.layout(site)
    shell.register(app, site)
    guard.check_callbacks(app.server, app.callback_map)  # last: a refusal in the page comes before a 400
    return app


def quiet_queue_warnings() -> None:
    """Silence waitress's "Task queue depth" warnings: Dash sends a page's requests in parallel."""
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def is_loopback(host: str) -> bool:
    """Whether every address `host` resolves to is a loopback address (127.0.0.0/8, ::1)."""
    import ipaddress

    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        return bool(infos) and all(ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback for info in infos)
    except (OSError, UnicodeError, ValueError):
        return False


def serve(store: Store, host: str = "127.0.0.1", port: int = 8050, threads: int = 4,
          launch: bool | None = None, allow_hosts: tuple[str, ...] = ()) -> None:
    """Serve the dashboard with waitress until interrupted; binds loopback unless `host` says otherwise.

    Args:
        store: the artifact store; host: bind address; port: TCP port; threads: request threads;
        launch: whether the Runs page may start jobs (None: only when `host` is loopback);
        allow_hosts: more names requests may give as their Host (guard).
    Raises:
        UserError: for a host that does not resolve, or an address that cannot be bound.
    """
    from waitress import create_server

    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as err:  # gaierror is an OSError
        raise UserError(f"cannot resolve --host {host!r}: {getattr(err, 'strerror', None) or err}") from None
    launch = is_loopback(host) if launch is None else launch
    app = create_app(store, launch=launch, hosts=guard.allowed_hosts(host, port, allow_hosts))
    quiet_queue_warnings()
    try:
        server = create_server(app.server, host=host, port=port, threads=threads)
    except OSError as err:
        raise UserError(f"cannot listen on {host} port {port}: {err.strerror or err}") from None
    problem = store_problem(store)
    if problem:
        print(f"workbench dashboard: {problem}")
    print(f"workbench dashboard for {store.root} at {_url(host, port)}  (Ctrl-C to stop; starting jobs from the "
          f"Runs page is {'on' if launch else 'off'})", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
