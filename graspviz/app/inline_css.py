"""Panel output that stays offline after pane updates, in Jupyter and served (see :func:`inline_panel_css`)."""

from __future__ import annotations


def inline_panel_css() -> bool:
    """Keep Panel output offline after updates, not only on first display (in Jupyter and served).

    ``pn.extension(inline=True)`` inlines Panel's JS, and the first display of a layout inlines its
    CSS. But when a pane that updates in place (``Markdown``, ``HTML``, ``Alert``...) changes later,
    Panel re-sends the pane's full ``stylesheets`` list with links to ``cdn.holoviz.org`` (its
    markdown, loading and theme CSS): offline the browser's requests fail and the pane loses its
    styles (seen with Panel 1.9.4). This wraps ``Reactive._get_properties`` / ``_update_properties``
    so that, while ``pn.config.inline`` is on and the document has no server session (a notebook
    comm), every CDN stylesheet Panel ships in ``panel/dist`` is sent inline instead. Served pages
    (``graspviz serve``) link Panel's local copies, but a pane updated while its tab is hidden has a
    model detached from the document, and Panel then rewrites the local links to the CDN, in place on
    stylesheet models other panes share: ``patch_stylesheet`` is wrapped so that a local link stays local.

    Imports Panel; returns False when Panel (or the private API used) is missing, True once installed.
    Idempotent.
    """
    import functools
    import weakref

    try:
        from bokeh.models import ImportedStyleSheet, InlineStyleSheet
        from panel.config import config
        from panel.io.resources import CDN_DIST, DIST_DIR, LOCAL_DIST
        from panel import reactive
        from panel.io import resources
        from panel.io.state import state
        from panel.reactive import Reactive
    except ImportError:
        return False
    if getattr(Reactive, "_graspviz_inline_css", False):
        return True
    get_props = getattr(Reactive, "_get_properties", None)
    update_props = getattr(Reactive, "_update_properties", None)
    if get_props is None or update_props is None or not hasattr(resources, "patch_stylesheet"):
        return False

    @functools.lru_cache(maxsize=None)
    def css_text(path: str) -> str:
        with open(path, encoding="utf-8") as f:
            return f.read()

    per_doc: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # doc -> {path: InlineStyleSheet}

    def inline(props, doc):
        sheets = props.get("stylesheets") if isinstance(props, dict) else None
        if not sheets or not config.inline or getattr(state, "_is_pyodide", False):
            return props
        if doc is not None and getattr(doc, "session_context", None) is not None:
            return props  # a server session: Panel serves its CSS locally (and keep_local keeps it so)
        cache = per_doc.setdefault(doc, {}) if doc is not None else {}
        out = []
        for sheet in sheets:
            if isinstance(sheet, ImportedStyleSheet):
                try:
                    url = str(sheet.url)
                except Exception:  # noqa: BLE001 - an unset url: leave the sheet as it is
                    url = ""
                if url.startswith(CDN_DIST):
                    path = DIST_DIR / url[len(CDN_DIST):].split("?")[0]
                    if path.is_file():
                        key = str(path)
                        if key not in cache:
                            cache[key] = InlineStyleSheet(css=css_text(key))
                        sheet = cache[key]
            out.append(sheet)
        props["stylesheets"] = out
        return props

    @functools.wraps(get_props)
    def _get_properties(self, doc, *args, **kwargs):
        return inline(get_props(self, doc, *args, **kwargs), doc)

    @functools.wraps(update_props)
    def _update_properties(self, *events, doc):
        return inline(update_props(self, *events, doc=doc), doc)

    def keep_local(stylesheet, dist_url):
        """Panel's patch_stylesheet, except that a served page's local link is never rewritten to the CDN (Panel
        does that for a model detached from its document, in place on a stylesheet other models share)."""
        if dist_url == CDN_DIST:
            try:
                url = str(stylesheet.url)
            except Exception:  # noqa: BLE001 - an unset url: nothing to rewrite
                return None
            if url.startswith(LOCAL_DIST) or f"/{LOCAL_DIST}" in url:
                return None
        return patch(stylesheet, dist_url)

    patch = resources.patch_stylesheet
    resources.patch_stylesheet = reactive.patch_stylesheet = keep_local
    Reactive._get_properties = _get_properties
    Reactive._update_properties = _update_properties
    Reactive._graspviz_inline_css = True
    return True
