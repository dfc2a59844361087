import assert from 'node:assert/strict'
import { Script } from 'node:vm'
import { describe, it } from 'node:test'
import { PAGE_CSS } from '../src/page/page-css.js'
import { PAGE_HTML } from '../src/page/page-html.js'
import { PAGE_METRICS_SCRIPT } from '../src/page/page-metrics-script.js'
import { PAGE_SCRIPT } from '../src/page/page-script.js'

// The page is drawn in Chromium by test/page.test.ts; these are the checks that need no browser.
void describe('page source', () => {
  void it('the scripts are valid JavaScript', () => {
    assert.doesNotThrow(() => new Script(PAGE_SCRIPT, { filename: 'page.js' }))
    assert.doesNotThrow(() => new Script(PAGE_METRICS_SCRIPT, { filename: 'page-metrics.js' }))
  })

  void it('never hands data to the HTML parser', () => {
    for (const sink of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'eval(', 'new Function']) {
      assert.equal(PAGE_SCRIPT.includes(sink), false, sink)
      assert.equal(PAGE_METRICS_SCRIPT.includes(sink), false, sink)
    }
  })

  void it('loads nothing from anywhere else: no CDN, no external fonts', () => {
    // The SVG namespace is a name that createElementNS needs, never fetched; nothing else may look like a URL.
    const metricsScript = PAGE_METRICS_SCRIPT.replace("var SVG = 'http://www.w3.org/2000/svg'", '')
    assert.notEqual(metricsScript, PAGE_METRICS_SCRIPT)
    for (const [name, source] of [['html', PAGE_HTML], ['css', PAGE_CSS], ['script', PAGE_SCRIPT], ['metrics script', metricsScript]] as const) {
      assert.doesNotMatch(source, /(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/i, name)
      assert.doesNotMatch(source, /@import|@font-face|url\(/i, name)
    }
  })

  void it('has no inline script or style, which the page policy would block', () => {
    assert.doesNotMatch(PAGE_HTML, /<script(?![^>]*\bsrc=)[^>]*>/)
    assert.doesNotMatch(PAGE_HTML, /\sstyle=|<style/)
    assert.doesNotMatch(PAGE_HTML, /\son[a-z]+=/)
  })
})
