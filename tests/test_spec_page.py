"""The page's document search (issue 14 item 3): a document is found by its country's name in
English or Chinese, by its ISO code, and an id is matched whole. Same browser harness as test_page."""

from __future__ import annotations

import pytest

from . import test_page as harness

expect = harness.expect
browser, server, tab = harness.browser, harness.server, harness.tab  # the harness's fixtures


@pytest.mark.parametrize(("query", "option"), [
    ("germany passport", "Germany Passport"), ("德国 护照", "Germany Passport"),
    ("korea", "South Korea Passport"), ("韩国", "South Korea Passport"), ("英国", "UK Visa"),
])
def test_search_finds_a_document_by_its_country_name(tab, query, option):
    tab.page.fill("#spec-search", query)
    expect(tab.page.locator("#spec option", has_text=option)).to_have_count(1)
    texts = tab.page.locator("#spec option").all_inner_texts()
    assert texts and len(texts) < 20, texts


def test_a_country_search_lists_its_documents_and_an_id_is_matched_whole(tab):
    tab.page.fill("#spec-search", "germany")
    expect(tab.page.locator("#spec option")).to_have_count(5)
    assert tab.errors == []
    tab.page.fill("#spec-search", "7601")
    expect(tab.page.locator("#spec option")).to_have_count(1)
    tab.page.select_option("#spec", index=0)
    expect(tab.page.locator("#spec-info")).to_contain_text("354 × 472 px")
