"""A self-contained HTML review page for one document: every edit highlighted, toggled, downloadable.

``render_html(source, result_or_edits, title=...)`` returns one HTML file with its CSS, script
and data inline: it makes no network requests and works from a ``file://`` URL. The page shows
the document as an inline diff (or side by side), each edit with its reason and confidence and
a toggle; a button downloads the text with the accepted edits applied, another the decisions as
a review log that ``restore fix --apply-log`` replays. Colours per edit kind come from
:data:`restore.render.KIND_STYLE`, the palette of the terminal word diff.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections import Counter
from collections.abc import Sequence

from .edits import Edit
from .render import KIND_STYLE, printable

# ANSI SGR colour codes in KIND_STYLE -> (text colour, background) on a light page.
_SGR_COLOURS = {
    "31": ("#a1131b", "#ffe3e3"),  # red: the text that goes
    "32": ("#0b6b2b", "#d8f5df"),  # green: the text that comes
    "33": ("#7a5200", "#fff0bf"),  # yellow: repaired characters
}


def _sgr_css(codes: str, extra: str = "") -> str:
    """CSS declarations for an ANSI SGR code string such as ``"31;2"`` (plus ``extra`` codes)."""
    decls: list[str] = []
    for code in [c for c in f"{codes};{extra}".split(";") if c]:
        if code in _SGR_COLOURS:
            fg, bg = _SGR_COLOURS[code]
            decls += [f"color:{fg}", f"background:{bg}"]
        elif code == "1":
            decls.append("font-weight:600")
        elif code == "2":
            decls.append("opacity:.7")
        elif code == "9":
            decls.append("text-decoration:line-through")
    return ";".join(decls)


def kind_css() -> str:
    """Per-kind rules: the old text as the word diff strikes it (;9), the new text as it bolds it (;1)."""
    rules = []
    for kind, (old, new) in sorted(KIND_STYLE.items()):
        rules.append(f".k-{kind} del{{{_sgr_css(old, '9')}}}")
        rules.append(f".k-{kind} ins{{{_sgr_css(new, '1')}}}")
        fg = _SGR_COLOURS.get(old.split(";")[0], ("#555", ""))[0]
        rules.append(f".tag-{kind}{{border-color:{fg};color:{fg}}}")
    return "\n".join(rules)


def _coerce(result_or_edits) -> tuple[list[Edit], dict | None]:
    """Edits plus the spin verdict (if the argument is a RestoreResult)."""
    if hasattr(result_or_edits, "edits"):
        spin = None
        if hasattr(result_or_edits, "spin_score"):
            spin = {
                "score": float(result_or_edits.spin_score),
                "spun": bool(result_or_edits.judged_spun),
            }
        return list(result_or_edits.edits), spin
    return list(result_or_edits), None


def _esc(text: str) -> str:
    return html.escape(printable(text), quote=True)


def _script_json(payload: dict) -> str:
    """JSON safe inside a <script> element (no '</' or '<!--' can end or confuse it)."""
    return (
        json.dumps(payload, ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _download_name(title: str) -> str:
    base = title.rsplit("/", 1)[-1] or "document"
    if base.endswith(".txt"):
        base = base[:-4]
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in base).strip("._") or "document"
    return safe


def _split_nl(text: str) -> tuple[str, str]:
    """``text`` without its trailing line endings (CRLF too), and those (kept outside the marks)."""
    body = text.rstrip("\r\n")
    return body, text[len(body) :]


def _mark(edit: Edit, index: int) -> str:
    """One edit in the inline view: the old text struck, the new text inserted, a clickable unit."""
    label = f"{edit.kind} {edit.confidence:.2f}: {edit.reason}"
    before, newlines = _split_nl(edit.before) if not edit.after else (edit.before, "")
    old = f"<del>{_esc(before)}</del>" if before else ""
    new = f"<ins>{_esc(edit.after)}</ins>" if edit.after else ""
    return (
        f'<span class="e k-{edit.kind}" data-i="{index}" id="e{index}" tabindex="0" role="button" '
        f'aria-pressed="true" title="{_esc(label)}">{old}{new}<sup>{index + 1}</sup></span>{newlines}'
    )


def _side(edit: Edit, index: int, which: str) -> str:
    """One edit in the side-by-side view: the original column or the result column."""
    label = f"{edit.kind} {edit.confidence:.2f}: {edit.reason}"
    if which == "old":
        before, newlines = _split_nl(edit.before) if not edit.after else (edit.before, "")
        body = f"<del>{_esc(before)}</del>" if before else ""
        return (
            f'<span class="e k-{edit.kind}" data-i="{index}" title="{_esc(label)}">'
            f"{body}<sup>{index + 1}</sup></span>{newlines}"
        )
    # The result column: the new text, or the original when the edit is turned off; a removal
    # leaves nothing behind (not even its number) until it is turned off.
    body = (f"<ins>{_esc(edit.after)}</ins>" if edit.after else "") + (
        f'<span class="kept">{_esc(edit.before)}</span>'
    )
    gone = " gone" if not edit.after else ""
    return (
        f'<span class="e k-{edit.kind}{gone}" data-i="{index}" title="{_esc(label)}">'
        f"{body}<sup>{index + 1}</sup></span>"
    )


def _document(source: str, edits: Sequence[Edit], piece) -> str:
    out, pos = [], 0
    for i, edit in enumerate(edits):
        out.append(_esc(source[pos : edit.start]))
        out.append(piece(edit, i))
        pos = edit.end
    out.append(_esc(source[pos:]))
    return "".join(out)


def _line_of(source: str, offset: int) -> int:
    return source.count("\n", 0, offset) + 1


def _edit_item(source: str, edit: Edit, index: int) -> str:
    before = _esc(edit.before.rstrip("\r\n")) or "\u2205"
    after = _esc(edit.after) or "<em>(removed)</em>"
    return (
        f'<li class="item k-{edit.kind}" data-i="{index}" id="item{index}">'
        f'<label><input type="checkbox" class="tog" data-i="{index}" checked> '
        f'<span class="num">{index + 1}</span> '
        f'<span class="tag tag-{edit.kind}">{edit.kind}</span> '
        f'<span class="conf" title="confidence">{edit.confidence:.2f}</span> '
        f'<span class="line">line {_line_of(source, edit.start)}</span></label>'
        f'<div class="change"><del>{before}</del> \u2192 <ins>{after}</ins></div>'
        f'<div class="reason">{_esc(edit.reason)}</div></li>'
    )


_CSS = """
:root{color-scheme:light;--fg:#1d1d1f;--muted:#5f6368;--line:#d9dce1;--bg:#fff;--panel:#f6f7f9}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;color:var(--fg);background:var(--bg)}
header{position:sticky;top:0;z-index:2;background:var(--bg);border-bottom:1px solid var(--line);padding:.6rem 1rem}
h1{font-size:1.1rem;margin:0 0 .2rem;overflow-wrap:anywhere}
.summary{color:var(--muted);font-size:.9rem;margin:0 0 .4rem}
.spun{color:#a1131b;font-weight:600}.notspun{color:#0b6b2b;font-weight:600}
.bar{display:flex;flex-wrap:wrap;gap:.4rem;align-items:center}
button,select{font:inherit;font-size:.9rem;padding:.35rem .7rem;border:1px solid var(--line);border-radius:6px;background:var(--panel);color:var(--fg);cursor:pointer}
button.primary{background:#0b57d0;border-color:#0b57d0;color:#fff}
.count{font-size:.9rem;color:var(--muted)}
.more{margin-top:.3rem;font-size:.9rem}.more summary{cursor:pointer;color:var(--muted)}.more .bar{margin-top:.3rem}
main{display:grid;grid-template-columns:minmax(0,1fr) 22rem;gap:1rem;padding:1rem;max-width:110rem;margin:0 auto}
.doc{white-space:pre-wrap;overflow-wrap:anywhere;font-size:1.02rem;line-height:1.7}
.cols{display:none;grid-template-columns:1fr 1fr;gap:1rem}
.cols h2,.inline h2{font-size:.8rem;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);margin:0 0 .3rem}
body.side .inline{display:none}body.side .cols{display:grid}
del,ins{text-decoration:none;border-radius:3px;padding:0 1px}
.e{cursor:pointer;border-radius:3px;outline-offset:1px}
.e:focus{outline:2px solid #0b57d0}
.e sup{font-size:.65em;color:var(--muted);margin-left:1px;user-select:none}
.e.off del{text-decoration:none;color:inherit;background:none;opacity:1}
.e.off ins{display:none}
.e.off{background:repeating-linear-gradient(135deg,transparent 0 4px,#eceff3 4px 6px)}
.kept{display:none}.e.off .kept{display:inline}
.e.gone sup{display:none}.e.gone.off sup{display:inline}
.e.hl{box-shadow:0 0 0 2px #0b57d0}
aside{border-left:1px solid var(--line);padding-left:1rem}
aside h2{font-size:1rem;margin:0 0 .5rem}
aside ol{list-style:none;margin:0;padding:0;position:sticky;top:9rem;max-height:calc(100vh - 10rem);overflow:auto}
.item{border:1px solid var(--line);border-radius:8px;padding:.45rem .6rem;margin:0 0 .5rem;background:var(--panel)}
.item.off{opacity:.6}.item.off .change ins{text-decoration:line-through}
.item label{display:flex;gap:.4rem;align-items:center;flex-wrap:wrap;font-size:.85rem;cursor:pointer}
.item input{width:1.1rem;height:1.1rem;margin:0}
.num{font-weight:600}
.tag{border:1px solid;border-radius:999px;padding:0 .45rem;font-size:.75rem}
.conf{font-variant-numeric:tabular-nums}.line{color:var(--muted)}
.change{margin:.2rem 0;overflow-wrap:anywhere}
.reason{font-size:.8rem;color:var(--muted);overflow-wrap:anywhere}
.empty{color:var(--muted)}
footer{color:var(--muted);font-size:.8rem;padding:0 1rem 1rem;max-width:110rem;margin:0 auto}
@media (max-width:900px){
 main{grid-template-columns:1fr;padding:.75rem}
 aside{border-left:0;border-top:1px solid var(--line);padding:.75rem 0 0}
 aside ol{position:static;max-height:none}
 body.side .cols{grid-template-columns:1fr}
 header{position:static;padding:.5rem .75rem}
 .doc{font-size:1rem}
}
@media print{header .bar,aside input{display:none}header{position:static}}
"""

_JS = """
(function(){
"use strict";
var data=JSON.parse(document.getElementById("restore-data").textContent);
var on=data.edits.map(function(){return true;});
function all(sel){return Array.prototype.slice.call(document.querySelectorAll(sel));}
function show(i){
  all('[data-i="'+i+'"]').forEach(function(el){
    if(el.classList.contains("tog")){el.checked=on[i];return;}
    el.classList.toggle("off",!on[i]);
    if(el.hasAttribute("aria-pressed"))el.setAttribute("aria-pressed",String(on[i]));
  });
}
function count(){
  var n=on.filter(Boolean).length;
  document.getElementById("count").textContent=n+" of "+on.length+" edits accepted";
}
function set(i,v){on[i]=v;show(i);count();}
function flash(i){
  all('.e[data-i="'+i+'"]').forEach(function(el){el.classList.add("hl");setTimeout(function(){el.classList.remove("hl");},900);});
}
all("input.tog").forEach(function(box){
  box.addEventListener("change",function(){set(+box.dataset.i,box.checked);flash(+box.dataset.i);});
});
all(".e").forEach(function(el){
  function toggle(){var i=+el.dataset.i;set(i,!on[i]);
    var item=document.getElementById("item"+i);if(item&&item.scrollIntoView)item.scrollIntoView({block:"nearest"});}
  el.addEventListener("click",toggle);
  el.addEventListener("keydown",function(ev){if(ev.key===" "||ev.key==="Enter"){ev.preventDefault();toggle();}});
});
function bulk(kind,v){data.edits.forEach(function(e,i){if(!kind||e.kind===kind){on[i]=v;show(i);}});count();}
document.getElementById("accept-all").addEventListener("click",function(){bulk(null,true);});
document.getElementById("reject-all").addEventListener("click",function(){bulk(null,false);});
all("button[data-kind]").forEach(function(b){
  b.addEventListener("click",function(){bulk(b.dataset.kind,b.dataset.value==="1");});
});
var view=document.getElementById("view");
view.addEventListener("change",function(){document.body.classList.toggle("side",view.value==="side");});
var chars=Array.from(data.source);  // offsets count code points (Python's), not UTF-16 units
function resultText(){
  var out=[],pos=0;
  data.edits.forEach(function(e,i){
    if(!on[i])return;
    out.push(chars.slice(pos,e.start).join(""),e.after);pos=e.end;
  });
  out.push(chars.slice(pos).join(""));return out.join("");
}
function save(name,text,type){
  var blob=new Blob([text],{type:type});
  var a=document.createElement("a");
  a.href=URL.createObjectURL(blob);a.download=name;
  document.body.appendChild(a);a.click();
  setTimeout(function(){URL.revokeObjectURL(a.href);a.remove();},1000);
}
document.getElementById("download").addEventListener("click",function(){
  save(data.name+".restored.txt",resultText(),"text/plain;charset=utf-8");
});
document.getElementById("download-log").addEventListener("click",function(){
  var log={format:"restore-review-log",version:1,tool:"restore html review",
    source:{path:data.title,sha256:data.sha256,length:data.length},
    decisions:data.edits.map(function(e,i){
      return {start:e.start,end:e.end,before:e.before,proposed:e.after,after:e.after,kind:e.kind,
        reason:e.reason,confidence:e.confidence,decision:on[i]?"accept":"reject"};
    })};
  save(data.name+".review.json",JSON.stringify(log,null,1)+"\\n","application/json");
});
window.restoreReview={text:resultText,accepted:function(){return on.slice();}};
count();
})();
"""


def render_html(source: str, result_or_edits, title: str = "document") -> str:
    """One self-contained review page for ``source`` and its edits (a RestoreResult or a list).

    ``title`` is shown on the page and names the downloads (``<name>.restored.txt``).
    """
    edits, spin = _coerce(result_or_edits)
    edits = sorted(edits, key=lambda e: (e.start, e.end))
    kinds = Counter(e.kind for e in edits)
    parts = [f"{n} {kind}" for kind, n in sorted(kinds.items())]
    summary = f"{len(edits)} edit{'s' if len(edits) != 1 else ''}"
    if parts:
        summary += " (" + ", ".join(parts) + ")"
    if spin is not None:
        verdict = (
            '<span class="spun">judged spun</span>'
            if spin["spun"]
            else '<span class="notspun">not spun</span>'
        )
        summary += f" · spin score {spin['score']:.3f} · {verdict}"
    kind_buttons = "".join(
        f'<button type="button" data-kind="{k}" data-value="1">Accept {k}</button>'
        f'<button type="button" data-kind="{k}" data-value="0">Reject {k}</button>'
        for k in sorted(kinds)
        if len(kinds) > 1
    )
    items = "".join(_edit_item(source, e, i) for i, e in enumerate(edits))
    if not items:
        items = '<li class="empty">No edits proposed: the text is unchanged.</li>'
    payload = {
        "title": title,
        "name": _download_name(title),
        "source": source,
        "sha256": hashlib.sha256(source.encode("utf-8")).hexdigest(),
        "length": len(source),
        "edits": [
            {
                "start": e.start,
                "end": e.end,
                "before": e.before,
                "after": e.after,
                "kind": e.kind,
                "reason": e.reason,
                "confidence": round(e.confidence, 4),
            }
            for e in edits
        ],
    }
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>{_esc(title)} · restore review</title>
<style>{_CSS}
{kind_css()}
</style>
</head>
<body>
<header>
<h1>{_esc(title)}</h1>
<p class="summary">{summary}</p>
<div class="bar">
<button type="button" class="primary" id="download">Download text</button>
<button type="button" id="accept-all">Accept all</button>
<button type="button" id="reject-all">Reject all</button>
<label class="count">View <select id="view"><option value="inline">inline</option><option value="side">side by side</option></select></label>
<span class="count" id="count" aria-live="polite"></span>
</div>
<details class="more"><summary>More actions</summary><div class="bar">
<button type="button" id="download-log">Download decisions (review log)</button>
{kind_buttons}</div></details>
</header>
<main>
<section>
<div class="inline"><h2>Changes in place: click an edit to accept or reject it</h2>
<div class="doc" id="doc">{_document(source, edits, _mark)}</div></div>
<div class="cols"><div><h2>Original</h2><div class="doc">{_document(source, edits, lambda e, i: _side(e, i, "old"))}</div></div>
<div><h2>Result</h2><div class="doc" id="result">{_document(source, edits, lambda e, i: _side(e, i, "new"))}</div></div></div>
</section>
<aside><h2>Edits</h2><ol id="edits">{items}</ol></aside>
</main>
<footer>Made by <code>restore</code>. Struck text is removed, highlighted text is inserted; unticked edits keep the original. Nothing on this page is sent anywhere.</footer>
<script type="application/json" id="restore-data">{_script_json(payload)}</script>
<script>{_JS}</script>
</body>
</html>
"""
