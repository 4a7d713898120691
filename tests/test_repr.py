"""Notebook reprs (glassnet/notebook.py): the HTML is well-formed, escapes what the
user typed and holds the numbers; the plain reprs say what the object is."""

from __future__ import annotations

from html.parser import HTMLParser

import numpy as np
import pytest

import glassnet as gn
from glassnet.strategy import diagnose, error_analysis

VOID = {"br", "hr", "img", "meta", "input", "link", "rect"}


class _Checker(HTMLParser):
    """Balanced tags (void elements and self-closed ones aside) and the text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.text, self.tags = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)

    def handle_endtag(self, tag):
        assert self.stack, f"</{tag}> closes nothing"
        opened = self.stack.pop()
        assert opened == tag, f"<{opened}> closed by </{tag}>"

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> tuple[str, list[str]]:
    """The visible text and the tags of well-formed HTML (else AssertionError)."""
    checker = _Checker()
    checker.feed(html)
    checker.close()
    assert checker.stack == [], f"unclosed tags: {checker.stack}"
    return " ".join(checker.text), checker.tags


@pytest.fixture
def trained():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    model = gn.Sequential(
        [gn.Dense(5, "tanh"), gn.Dropout(keep_prob=0.8), gn.Dense(1, "sigmoid")],
        name="<b>cats & dogs</b>",
    )
    history = model.fit(
        X,
        y,
        epochs=7,
        batch_size=20,
        optimizer=gn.Adam(0.01),
        validation_data=(X[:20], y[:20]),
        metrics=["accuracy"],
        rng=0,
        verbose=False,
    )
    return model, history


def test_sequential_html_holds_the_notes_summary(trained):
    model, _ = trained
    text, tags = parse(model._repr_html_())
    assert "table" in tags
    # n[0], W[l] shapes in the notes' notation, the activations, the counts
    assert "n[0] = 4 input features" in text
    assert "W[1]: (n[1], n[0]) = (5, 4)" in text
    assert "W[2]: (n[2], n[1]) = (1, 5)" in text
    assert "tanh" in text and "sigmoid" in text
    assert "31 parameters" in text  # 5*4 + 5 + 1*5 + 1
    assert " 25 " in f" {text} " and " 6 " in f" {text} "
    # the user's name is escaped, not markup
    assert "<b>cats" not in model._repr_html_()
    assert "&lt;b&gt;cats &amp; dogs&lt;/b&gt;" in model._repr_html_()


def test_sequential_repr_is_one_informative_line(trained):
    model, _ = trained
    assert repr(model) == (
        "Sequential(n[0]=4 -> Dense(5, tanh) -> Dropout(keep_prob=0.8) -> "
        "Dense(1, sigmoid); 31 parameters)"
    )
    unbuilt = gn.Sequential([gn.Dense(3, "relu"), gn.Dense(2, "softmax")])
    assert repr(unbuilt) == "Sequential(Dense(3, relu) -> Dense(2, softmax); not built)"
    text, _ = parse(unbuilt._repr_html_())
    assert "not built" in text and " 3 " in f" {text} " and "softmax" in text


def test_history_html_has_the_last_epochs_and_the_curve(trained):
    _, history = trained
    html = history._repr_html_()
    text, tags = parse(html)
    assert "svg" in tags and "polyline" in tags
    assert "last 5 of 7 epochs" in text
    last_cost = f"{history['cost'][-1]:.6g}"
    assert last_cost in text
    assert f"{history['val_accuracy'][-1]:.6g}" in text
    assert "grad_norm" not in text  # per-layer norms stay out of the table
    # epochs 2..6 are rows, epochs 0 and 1 are not
    assert [row.split("</td>")[0] for row in html.split("<tr><td style")[1:]][0]
    assert repr(history).startswith("History(7 epochs; last: cost=" + last_cost)
    empty = gn.History()
    assert repr(empty) == "History(no epochs)"
    parse(empty._repr_html_())


def test_history_escapes_log_keys():
    history = gn.History()
    for epoch in range(3):
        history.on_epoch_end(epoch, {"cost": 1.0 / (epoch + 1), "<script>": 1.0})
    html = history._repr_html_()
    parse(html)
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_diagnosis_html_holds_the_ladder_and_the_advice():
    diagnosis = diagnose(human=1, train=10, train_dev=11, dev=15, test=20)
    text, tags = parse(diagnosis._repr_html_())
    assert "table" in tags and "li" in tags
    for shown in ("1.0%", "10.0%", "11.0%", "15.0%", "20.0%"):
        assert shown in text
    assert "+9.0" in text and "+1.0" in text and "+4.0" in text and "+5.0" in text
    assert "avoidable bias ← largest" in text
    assert "train a bigger network (more hidden units or layers)" in text
    assert repr(diagnosis) == (
        "Diagnosis(problem='avoidable_bias' (9.0 points); human 1.0%, train 10.0%, "
        "train_dev 11.0%, dev 15.0%, test 20.0%)"
    )
    fine = diagnose(human=0.05, train=0.05, dev=0.04)
    assert "none of the gaps is positive" in parse(fine._repr_html_())[0]
    assert repr(fine).startswith("Diagnosis(no positive gap;")


def test_error_analysis_html_escapes_tags_and_comments():
    rows = [
        {"dog": "1", "<blurry>": "1", "comments": "Pitbull <script>alert(1)</script>"},
        {"dog": "0", "<blurry>": "1", "comments": ""},
        {"dog": "0", "<blurry>": "0", "comments": "rainy & dark"},
        {"dog": "0", "<blurry>": "1", "comments": ""},
    ]
    analysis = error_analysis(rows, dev_error=0.1)
    html = analysis._repr_html_()
    text, _ = parse(html)
    assert "<script>" not in html and "<blurry>" not in html
    assert "Pitbull <script>alert(1)</script>" in text  # shown as text
    assert "rainy & dark" in text
    assert "Error analysis of 4 misclassified dev examples (dev error 10.0%)" in text
    # <blurry>: 3 of 4 errors, max gain 0.1 * 0.75, best 0.1 * 0.25
    assert "75.0%" in text and "7.5%" in text and "2.5%" in text
    relabelled = error_analysis({"Mislabeled": [1, 0], "dog": [0, 1]})
    assert (
        "'Mislabeled' (50.0% of errors) are incorrect dev labels"
        in parse(relabelled._repr_html_())[0]
    )
    assert repr(analysis) == (
        "ErrorAnalysis(4 errors, dev error 0.1; <blurry> 75.0%, dog 25.0%)"
    )
