// Typesets TeX with MathJax 3 under Node, for the Sphinx extension _ext/prerendered_math.py.
//
// One process serves a whole build. It reads one JSON request per line on stdin and answers
// each with one JSON line on stdout:
//   {"tex": "...", "display": true}  ->  {"html": "<mjx-container ...>...</mjx-container>"}
//                                        or {"error": "the TeX error message"}
//   {"css": true}                    ->  {"css": "the style sheet for every formula typeset so far"}
// The output is MathJax's CommonHTML (HTML elements styled by one style sheet, drawn with
// MathJax's web fonts) plus the formula as MathML for screen readers, as MathJax itself gives it
// in a browser; the browser then has nothing left to compute.
// Options (argv[2], JSON): {"fontURL": "...", "tex": {...MathJax TeX input options...}}.
"use strict";

const readline = require("readline");
const { mathjax } = require("mathjax-full/js/mathjax.js");
const { TeX } = require("mathjax-full/js/input/tex.js");
const { CHTML } = require("mathjax-full/js/output/chtml.js");
const { liteAdaptor } = require("mathjax-full/js/adaptors/liteAdaptor.js");
const { RegisterHTMLHandler } = require("mathjax-full/js/handlers/html.js");
const { AssistiveMmlHandler } = require("mathjax-full/js/a11y/assistive-mml.js");
const { AllPackages } = require("mathjax-full/js/input/tex/AllPackages.js");

const options = JSON.parse(process.argv[2] || "{}");
const adaptor = liteAdaptor();
AssistiveMmlHandler(RegisterHTMLHandler(adaptor));

// Every TeX package, except the two that turn errors into red text on the page: an unknown
// macro or a TeX error must fail the build, not reach a reader.
const packages = AllPackages.filter((name) => name !== "noerrors" && name !== "noundefined");
const tex = new TeX({
    ...(options.tex || {}),
    packages,
    formatError: (jax, error) => { throw error; },
});
const chtml = new CHTML({ fontURL: options.fontURL || "fonts", adaptiveCSS: true });
const doc = mathjax.document("", { InputJax: tex, OutputJax: chtml });

function answer(request) {
    if (request.css) {
        return { css: adaptor.textContent(chtml.styleSheet(doc)) };
    }
    try {
        // em/ex/containerWidth: a 16 px text font; the width only matters for tags and widths in %.
        const node = doc.convert(request.tex, {
            display: Boolean(request.display), em: 16, ex: 8, containerWidth: 640,
        });
        return { html: adaptor.outerHTML(node) };
    } catch (error) {
        return { error: String(error && error.message ? error.message : error) };
    }
}

const lines = readline.createInterface({ input: process.stdin, terminal: false });
lines.on("line", (line) => {
    if (line.trim()) {
        process.stdout.write(JSON.stringify(answer(JSON.parse(line))) + "\n");
    }
});
