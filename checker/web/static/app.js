// The check-and-fix page. Plain JS, no dependencies: it talks only to this server's API
// (/api/specs, /api/check_pic, /api/fix) and keeps nothing but the language and key in the browser.
"use strict";

const STRINGS = {
  en: {
    title: "ID photo check", skip: "Skip to the content",
    tagline: "Check a photo against a document's rules, see what is wrong, and fix it. Nothing leaves this server.",
    docHeading: "1. Document", searchLabel: "Search documents", docLabel: "Document",
    photoHeading: "2. Photo", dropHint: "Drop a photo here, or", choose: "Choose a photo", cameraOpen: "Take a photo",
    cameraPreview: "Camera preview", cameraShoot: "Capture", cameraClose: "Cancel",
    cannotShow: "This browser cannot show this file's format (TIFF, say); the checks below still apply to it.",
    reportHeading: "3. Report", originalCaption: "Your photo, with what was measured", fixedCaption: "The fixed photo",
    fixedAlt: "The fixed photo on the chosen background", showOverlay: "Show the overlay",
    legendFace: "face box", legendEyes: "eye line", legendCrown: "top of the head", legendChin: "chin",
    legendCrownWindow: "where the top of the head should be (head height)", legendEyeWindow: "where the eye line should be",
    reportCaption: "Every check on your photo", afterCaption: "Every check on the fixed photo",
    colResult: "Result", colCheck: "Check", colMeasured: "Measured", colExpected: "Expected", colReason: "Reason",
    fix: "Fix it", fixHeading: "4. The fixed photo", bgLegend: "Background colour", bgCustom: "Other colour",
    bgWarning: "This document does not accept this colour: the photo will fail its background check.",
    downloadPhoto: "Download the photo", sheetLabel: "Print sheet", sheet5: "5-inch (89 × 127 mm)",
    sheet6: "6-inch (102 × 152 mm)", sheetA4: "A4 (210 × 297 mm)", downloadSheet: "Download the print sheet",
    keySummary: "API key", keyLabel: "API key (needed only when this server has keys)", apiDocs: "API documentation",
    status_pass: "Pass", status_fail: "Fail", status_not_assessed: "Not assessed", status_not_applicable: "Not applicable",
    specCount: (n) => (n === 1 ? "1 document" : `${n} documents`), specNone: "No document matches this search.",
    specInfo: (s) => `${s.size_px[0]} × ${s.size_px[1]} px${s.size_mm ? `, ${s.size_mm[0]} × ${s.size_mm[1]} mm` : ""}, ${s.dpi} dpi`
      + (s.background_colors.length ? `; background: ${s.background_colors.map(colourName).join(", ")}` : ""),
    loadingSpecs: "Loading the documents…", checking: "Checking the photo…", fixing: "Fixing the photo…",
    preparing: "Preparing the download…", pickDoc: "Choose a document first.", pickPhoto: "Now choose a photo.",
    checked: (r) => `Checked: ${r.fail} failed, ${r.unknown} not assessed, ${r.pass} passed.`,
    verdictPass: "This photo meets the document's rules.", verdictFail: (n) => `This photo does not meet the document's rules: ${n} to fix.`,
    verdictUnknown: "Some checks could not be assessed, so the photo is not accepted.",
    fixedPass: "The fixed photo meets the document's rules.", fixedFail: "The fixed photo still does not meet every rule.",
    fixedList: "Repaired", unfixableList: "Cannot be repaired by software (take a new photo)",
    downloaded: (name) => `Downloaded ${name}.`, fixDone: "The fixed photo is ready.",
    cameraError: "The camera could not be opened.", needKey: "This server needs an API key: enter it below.",
    overlayDesc: (o) => describeOverlay(o, "en"),
    errors: {
      NO_FACE_DETECTED: "No face was found in this photo.", TOO_MANY_FACES: "There is more than one face in this photo.",
      CORRUPT_IMAGE: "This file is not a photo, or it is damaged.", EMPTY_IMAGE: "This file is empty.",
      INVALID_IMAGE_FORMAT_OR_SIZE: "This photo's format or size is not accepted (JPG, PNG, BMP, GIF, TIFF, WEBP, HEIC or AVIF, sides 9 to 4096 px).",
      IMAGE_FILE_SIZE_TOO_BIG: "This file is too large.", OUT_OF_QUOTA: "This API key has no credits left.",
      RATE_LIMIT_EXCEEDED: "Too many requests at once: wait a moment and try again.",
    },
    categories: { passport: "Passports", visa: "Visas", government: "ID cards and government", examination: "Examinations",
      qualification: "Qualifications", student: "Students", enrollment: "Enrolment", common: "Common sizes" },
    colours: { white: "white", light_gray: "light grey", light_blue: "light blue", blue: "blue", red: "red",
      gray: "grey", off_white: "off-white", dark_blue: "dark blue" },
  },
  zh: {
    title: "证件照检测", skip: "跳到正文",
    tagline: "按证件规格检测照片,指出问题并一键修复。照片不会离开本服务器。",
    docHeading: "1. 选择证件", searchLabel: "搜索证件", docLabel: "证件",
    photoHeading: "2. 选择照片", dropHint: "把照片拖到这里,或", choose: "选择照片", cameraOpen: "拍照",
    cameraPreview: "摄像头预览", cameraShoot: "拍摄", cameraClose: "取消",
    cannotShow: "浏览器无法显示这种格式的文件(例如 TIFF),但下面的检测结果仍然适用。",
    reportHeading: "3. 检测结果", originalCaption: "你的照片及测量结果", fixedCaption: "修复后的照片",
    fixedAlt: "换上所选背景色的修复后照片", showOverlay: "显示标注",
    legendFace: "人脸框", legendEyes: "眼睛连线", legendCrown: "头顶", legendChin: "下巴",
    legendCrownWindow: "头顶应在的范围(头部高度)", legendEyeWindow: "眼睛连线应在的范围",
    reportCaption: "你的照片的全部检测项", afterCaption: "修复后照片的全部检测项",
    colResult: "结果", colCheck: "检测项", colMeasured: "测量值", colExpected: "要求", colReason: "原因",
    fix: "一键修复", fixHeading: "4. 修复后的照片", bgLegend: "背景颜色", bgCustom: "其他颜色",
    bgWarning: "该证件不接受这种颜色:照片将无法通过背景检测。",
    downloadPhoto: "下载照片", sheetLabel: "冲印排版", sheet5: "5 寸(89 × 127 毫米)",
    sheet6: "6 寸(102 × 152 毫米)", sheetA4: "A4(210 × 297 毫米)", downloadSheet: "下载排版照",
    keySummary: "API 密钥", keyLabel: "API 密钥(仅当本服务器设置了密钥时需要)", apiDocs: "API 文档",
    status_pass: "通过", status_fail: "不通过", status_not_assessed: "无法检测", status_not_applicable: "不适用",
    specCount: (n) => `共 ${n} 种证件`, specNone: "没有符合搜索条件的证件。",
    specInfo: (s) => `${s.size_px[0]} × ${s.size_px[1]} 像素${s.size_mm ? `,${s.size_mm[0]} × ${s.size_mm[1]} 毫米` : ""},${s.dpi} dpi`
      + (s.background_colors.length ? `;背景:${s.background_colors.map(colourName).join("、")}` : ""),
    loadingSpecs: "正在加载证件列表…", checking: "正在检测照片…", fixing: "正在修复照片…",
    preparing: "正在准备下载…", pickDoc: "请先选择证件。", pickPhoto: "请选择一张照片。",
    checked: (r) => `检测完成:${r.fail} 项不通过,${r.unknown} 项无法检测,${r.pass} 项通过。`,
    verdictPass: "这张照片符合该证件的要求。", verdictFail: (n) => `这张照片不符合该证件的要求:有 ${n} 项需要修正。`,
    verdictUnknown: "部分检测项无法检测,照片不能判定为合格。",
    fixedPass: "修复后的照片符合该证件的要求。", fixedFail: "修复后的照片仍有不符合要求的项目。",
    fixedList: "已修复", unfixableList: "无法通过软件修复(请重新拍摄)",
    downloaded: (name) => `已下载 ${name}。`, fixDone: "修复后的照片已生成。",
    cameraError: "无法打开摄像头。", needKey: "本服务器需要 API 密钥:请在下方输入。",
    overlayDesc: (o) => describeOverlay(o, "zh"),
    errors: {
      NO_FACE_DETECTED: "照片中没有检测到人脸。", TOO_MANY_FACES: "照片中有不止一张人脸。",
      CORRUPT_IMAGE: "这个文件不是照片,或已经损坏。", EMPTY_IMAGE: "这个文件是空的。",
      INVALID_IMAGE_FORMAT_OR_SIZE: "照片的格式或尺寸不被接受(JPG、PNG、BMP、GIF、TIFF、WEBP、HEIC 或 AVIF,边长 9 至 4096 像素)。",
      IMAGE_FILE_SIZE_TOO_BIG: "文件太大。", OUT_OF_QUOTA: "该 API 密钥的额度已用完。",
      RATE_LIMIT_EXCEEDED: "请求过于频繁:请稍后再试。",
    },
    categories: { passport: "护照", visa: "签证", government: "身份证件与政务", examination: "考试报名",
      qualification: "职业资格", student: "学生", enrollment: "入学", common: "常用尺寸" },
    colours: { white: "白色", light_gray: "浅灰色", light_blue: "浅蓝色", blue: "蓝色", red: "红色",
      gray: "灰色", off_white: "米白色", dark_blue: "深蓝色" },
  },
};
const CATEGORY_ORDER = ["passport", "visa", "government", "examination", "qualification", "student", "enrollment", "common"];
const STATUS_ORDER = { fail: 0, not_assessed: 1, not_applicable: 2, pass: 3 };
const SVG = "http://www.w3.org/2000/svg";

const state = {
  lang: "en", specs: [], spec: null, file: null, photoUrl: null,
  report: null, fix: null, bg: null, fixCache: new Map(), stream: null, busy: false, recheck: false,
};
const $ = (id) => document.getElementById(id);
const t = (key, ...args) => {
  const value = STRINGS[state.lang][key] ?? STRINGS.en[key];
  return typeof value === "function" ? value(...args) : value;
};
function colourName(name) { return STRINGS[state.lang].colours[name] || name.replace(/_/g, " "); }
const zh = () => state.lang === "zh";

// --- language ------------------------------------------------------------------------------------
function setLanguage(lang) {
  state.lang = lang in STRINGS ? lang : "en";
  try { localStorage.setItem("idphoto.lang", state.lang); } catch { /* private mode */ }
  document.documentElement.lang = zh() ? "zh-CN" : "en";
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", t(el.dataset.i18nAria));
  for (const el of document.querySelectorAll("[data-i18n-alt]")) el.alt = t(el.dataset.i18nAlt);
  for (const b of document.querySelectorAll("[data-lang]")) b.setAttribute("aria-pressed", String(b.dataset.lang === state.lang));
  renderSpecs();
  renderSpecInfo();
  if (state.report) renderReport(state.report, $("report"), $("verdict"));
  if (state.report) renderOverlay(state.report.overlay);
  if (state.fix) renderFix();
}

// --- status line and busy state --------------------------------------------------------------------
function say(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}
function setBusy(on) {
  state.busy = on;
  $("busy").hidden = !on;
  document.querySelector("main").setAttribute("aria-busy", String(on));
  for (const id of ["fix", "download-photo", "download-sheet", "choose"]) $(id).disabled = on;
}

// --- API -------------------------------------------------------------------------------------------
class ApiError extends Error {
  constructor(status, message, http) { super(message); this.status = status; this.http = http; }
}
async function api(path, form) {
  const headers = {};
  const key = $("api-key").value.trim();
  if (key) headers["X-API-KEY"] = key;
  const resp = await fetch(path, form ? { method: "POST", body: form, headers } : { headers });
  let body = null;
  try { body = await resp.json(); } catch { /* not JSON: handled below */ }
  if (!resp.ok || !body) {
    const status = body?.status || `HTTP_${resp.status}`;
    throw new ApiError(status, body?.message || resp.statusText || status, resp.status);
  }
  return body;
}
function fail(err) {
  if (err instanceof ApiError && err.http === 401) {
    $("key-box").open = true;
    $("api-key").focus();
    say(t("needKey"), true);
  } else if (err instanceof ApiError && t("errors")[err.status]) {
    // The server's own words follow, for the detail (which limit, which face count, ...).
    const known = t("errors")[err.status];
    say(err.status === "NO_FACE_DETECTED" ? known : `${known} (${err.message})`, true);
  } else {
    say(err.message || String(err), true);
  }
}

// --- the spec catalogue ------------------------------------------------------------------------------
async function loadSpecs() {
  say(t("loadingSpecs"));
  const body = await api("/api/specs");
  state.specs = body.specs;
  const wanted = new URLSearchParams(location.search).get("spec");
  if (wanted) state.spec = state.specs.find((s) => String(s.id) === wanted || s.slug === wanted) || null;
  renderSpecs();
  renderSpecInfo();
  say(state.spec ? t("pickPhoto") : "");
}
function matches(spec, words) {
  const text = [spec.name, spec.name_zh, spec.slug, String(spec.id), spec.country || "", spec.category,
    t("categories")[spec.category] || ""].join(" ").toLowerCase();
  return words.every((w) => text.includes(w));
}
function renderSpecs() {
  const select = $("spec");
  const words = $("spec-search").value.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const shown = state.specs.filter((s) => matches(s, words));
  select.replaceChildren();
  const groups = new Map();
  for (const spec of shown) {
    if (!groups.has(spec.category)) groups.set(spec.category, []);
    groups.get(spec.category).push(spec);
  }
  const order = [...groups.keys()].sort((a, b) => (CATEGORY_ORDER.indexOf(a) + 99) % 99 - (CATEGORY_ORDER.indexOf(b) + 99) % 99);
  for (const category of order) {
    const group = document.createElement("optgroup");
    group.label = t("categories")[category] || category;
    for (const spec of groups.get(category)) {
      const opt = new Option(`${zh() ? spec.name_zh || spec.name : spec.name} — ${spec.size_px[0]}×${spec.size_px[1]} px`, String(spec.id));
      opt.selected = state.spec?.id === spec.id;
      group.append(opt);
    }
    select.append(group);
  }
  $("spec-count").textContent = shown.length ? t("specCount", shown.length) : t("specNone");
}
function renderSpecInfo() {
  $("spec-info").textContent = state.spec ? t("specInfo", state.spec) : "";
}
function chooseSpec(id) {
  const spec = state.specs.find((s) => String(s.id) === String(id));
  if (!spec || spec.id === state.spec?.id) return;
  state.spec = spec;
  state.fix = null;
  state.fixCache.clear();
  state.bg = null;
  $("fix-section").hidden = true;
  $("fixed-figure").hidden = true;
  renderSpecInfo();
  if (state.file) runCheck(); else say(t("pickPhoto"));
}

// --- the photo ---------------------------------------------------------------------------------------
function usePhoto(file) {
  if (!file) return;
  state.file = file;
  state.fix = null;
  state.fixCache.clear();
  state.bg = null;
  if (state.photoUrl) URL.revokeObjectURL(state.photoUrl);
  state.photoUrl = URL.createObjectURL(file);
  $("original-note").hidden = true;
  $("original").src = state.photoUrl;
  $("fix-section").hidden = true;
  $("fixed-figure").hidden = true;
  if (state.spec) runCheck(); else say(t("pickDoc"));
}
async function openCamera() {
  try {
    state.stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 1280 }, height: { ideal: 1600 } } });
    const video = $("video");
    $("camera-shoot").disabled = true;  // until the first frame arrives: an empty frame is no photo
    video.addEventListener("loadeddata", () => {
      $("camera-shoot").disabled = false;
      $("camera-shoot").focus();
    }, { once: true });
    video.srcObject = state.stream;
    $("camera").hidden = false;
  } catch {
    say(t("cameraError"), true);
  }
}
function closeCamera() {
  for (const track of state.stream?.getTracks() || []) track.stop();
  state.stream = null;
  $("camera").hidden = true;
  $("camera-open").focus();
}
function shoot() {
  const video = $("video");
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext("2d").drawImage(video, 0, 0);
  canvas.toBlob((blob) => {
    closeCamera();
    if (blob) usePhoto(new File([blob], "camera.jpg", { type: "image/jpeg" }));
  }, "image/jpeg", 0.95);
}

// --- checking -----------------------------------------------------------------------------------------
function photoForm(extra = {}) {
  const form = new FormData();
  form.append("file", state.file, state.file.name || "photo.jpg");
  form.append("spec_id", String(state.spec.id));
  for (const [k, v] of Object.entries(extra)) form.append(k, String(v));
  return form;
}
async function runCheck() {
  if (!state.file || !state.spec) return;
  if (state.busy) {  // a new photo or document while a request runs: check again when it ends
    state.recheck = true;
    return;
  }
  setBusy(true);
  say(t("checking"));
  try {
    state.report = await api("/api/check_pic", photoForm());
    $("report-section").hidden = false;
    renderReport(state.report, $("report"), $("verdict"));
    renderOverlay(state.report.overlay);
    say(t("checked", counts(state.report.checks)));
  } catch (err) {
    state.report = null;
    $("report-section").hidden = true;
    fail(err);
  } finally {
    setBusy(false);
    if (state.recheck) {
      state.recheck = false;
      runCheck();
    }
  }
}
function counts(rows) {
  const c = { pass: 0, fail: 0, unknown: 0 };
  for (const r of rows) {
    if (r.status === "pass") c.pass++;
    else if (r.status === "fail") c.fail++;
    else if (r.status === "not_assessed") c.unknown++;
  }
  return c;
}
function formatValue(row) {
  const v = row.value;
  if (v === null || v === undefined) return "—";
  if (Array.isArray(v)) return v.join(" × ") + (row.unit && row.unit !== "score" ? ` ${row.unit}` : "");
  if (typeof v === "number") {
    const n = Math.abs(v) >= 10 ? Math.round(v) : Math.round(v * 10) / 10;
    const unit = !row.unit || row.unit === "score" ? "" : ["%", "°"].includes(row.unit) ? row.unit : ` ${row.unit}`;
    return `${n}${unit}`;
  }
  return String(v);
}
const REPORT_COLUMNS = ["colResult", "colCheck", "colMeasured", "colExpected", "colReason"];
function renderReport(report, table, verdict) {
  if (!table.tHead) {  // both report tables share one header, written here once
    const tr = table.createTHead().insertRow();
    for (const key of REPORT_COLUMNS) {
      const th = document.createElement("th");
      th.scope = "col";
      th.dataset.i18n = key;
      tr.append(th);
    }
  }
  for (const th of table.tHead.rows[0].cells) th.textContent = t(th.dataset.i18n);
  const rows = [...report.checks].sort((a, b) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status]);
  const body = table.tBodies[0];
  body.replaceChildren();
  for (const row of rows) {
    const tr = document.createElement("tr");
    tr.dataset.check = row.check;
    tr.dataset.status = row.status;
    const cells = [
      `${{ pass: "✓", fail: "✗", not_assessed: "?", not_applicable: "–" }[row.status]} ${t(`status_${row.status}`)}`,
      zh() ? row.title_zh : row.title,
      formatValue(row),
      zh() ? row.expected_text_zh : row.expected_text,
      (zh() ? row.message_zh : row.message) || "",
    ];
    cells.forEach((text, i) => {
      const cell = document.createElement(i === 1 ? "th" : "td");
      if (i === 1) cell.scope = "row";
      if (i === 0) cell.className = "status";
      cell.textContent = text;
      tr.append(cell);
    });
    body.append(tr);
  }
  const c = counts(report.checks);
  verdict.className = "verdict " + (report.check_result === 1 ? "pass" : "fail");
  verdict.textContent = report.check_result === 1 ? t("verdictPass") : c.fail ? t("verdictFail", c.fail) : t("verdictUnknown");
}

// --- the overlay ----------------------------------------------------------------------------------------
function svgEl(name, attrs, title) {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (title) {
    const tt = document.createElementNS(SVG, "title");
    tt.textContent = title;
    el.append(tt);
  }
  return el;
}
function band(cls, win, w, h, title) {
  // An open side of the window runs to the photo's edge; a window outside the photo gets an arrow label.
  const top = win[0] ?? 0;
  const bottom = win[1] ?? h;
  const g = svgEl("g", { class: `${cls}-group` });
  g.append(svgEl("rect", { class: cls, x: 0, y: top, width: w, height: Math.max(bottom - top, 1), "stroke-width": w / 200 }, title));
  if (bottom < 0 || top > h) {
    const y = bottom < 0 ? 18 : h - 8;
    const text = svgEl("text", { class: "offscreen", x: 6, y, "font-size": Math.max(12, h / 40) });
    text.textContent = `${bottom < 0 ? "↑" : "↓"} ${title}`;
    g.append(text);
  }
  return g;
}
function renderOverlay(o) {
  const svg = $("overlay");
  svg.replaceChildren();
  if (!o) return;
  const [w, h] = o.size;
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("preserveAspectRatio", "none");
  const sw = Math.max(1.5, w / 250);
  if (o.crown_window) svg.append(band("crown-window", o.crown_window, w, h, t("legendCrownWindow")));
  if (o.eye_window) svg.append(band("eye-window", o.eye_window, w, h, t("legendEyeWindow")));
  if (o.face_box) {
    const [x, y, bw, bh] = o.face_box;
    svg.append(svgEl("rect", { class: "face-box", x, y, width: bw, height: bh, "stroke-width": sw }, t("legendFace")));
  }
  if (o.eyes) {
    const [[x1, y1], [x2, y2]] = o.eyes;
    const dx = x2 - x1, dy = y2 - y1;
    // The eye line runs past both eyes by half their distance, so its tilt reads at a glance.
    svg.append(svgEl("line", { class: "eye-line", x1: x1 - dx / 2, y1: y1 - dy / 2, x2: x2 + dx / 2, y2: y2 + dy / 2, "stroke-width": sw }, t("legendEyes")));
    for (const [x, y] of o.eyes) svg.append(svgEl("circle", { class: "eye", cx: x, cy: y, r: sw * 1.6 }));
  }
  if (o.crown_y !== null && o.crown_y !== undefined) {
    svg.append(svgEl("line", { class: "crown-line", x1: 0, x2: w, y1: o.crown_y, y2: o.crown_y, "stroke-width": sw }, t("legendCrown")));
  }
  if (o.chin_y !== null && o.chin_y !== undefined) {
    svg.append(svgEl("line", { class: "chin-line", x1: 0, x2: w, y1: o.chin_y, y2: o.chin_y, "stroke-width": sw }, t("legendChin")));
  }
  $("overlay-desc").textContent = t("overlayDesc", o);
  svg.style.display = $("show-overlay").checked ? "" : "none";
}
function describeOverlay(o, lang) {
  const r = (v) => (v === null || v === undefined ? "—" : Math.round(v));
  const win = (v) => (v ? `${r(v[0])}–${r(v[1])}` : "—");
  if (lang === "zh") {
    return `标注(像素,自上而下):头顶 y=${r(o.crown_y)},下巴 y=${r(o.chin_y)},头顶应在 y=${win(o.crown_window)},`
      + `眼睛连线应在 y=${win(o.eye_window)}。`;
  }
  return `Overlay (pixels from the top): top of the head at y=${r(o.crown_y)}, chin at y=${r(o.chin_y)}; `
    + `the top of the head should be at y=${win(o.crown_window)} and the eye line at y=${win(o.eye_window)}.`;
}

// --- fixing -----------------------------------------------------------------------------------------------
async function runFix() {
  if (!state.file || !state.spec || state.busy) return;
  setBusy(true);
  say(t("fixing"));
  try {
    const result = await api("/api/fix", photoForm({ transparent: 1 }));
    state.fix = result;
    state.bg = result.background.toUpperCase();
    state.fixCache.clear();
    state.fixCache.set(state.bg, result);
    $("fixed").src = result.transparent;
    renderFix();
    $("fixed-figure").hidden = false;
    $("fix-section").hidden = false;
    say(t("fixDone"));
  } catch (err) {
    fail(err);
    return;
  } finally {
    setBusy(false);
  }
  $("fix-heading").scrollIntoView({ block: "start" });
  $("download-photo").focus({ preventScroll: true });  // enabled again only now
}
function renderFix() {
  const result = state.fixCache.get(state.bg) || state.fix;
  const verdict = $("fix-verdict");
  verdict.className = "verdict " + (result.passed ? "pass" : "fail");
  verdict.textContent = result.passed ? t("fixedPass") : t("fixedFail");
  const lists = $("fix-lists");
  lists.replaceChildren();
  const titles = new Map(result.after.checks.concat(result.before.checks).map((r) => [r.check, zh() ? r.title_zh : r.title]));
  const addList = (heading, items) => {
    if (!items.length) return;
    const h = document.createElement("h3");
    h.textContent = heading;
    const ul = document.createElement("ul");
    for (const text of items) {
      const li = document.createElement("li");
      li.textContent = text;
      ul.append(li);
    }
    lists.append(h, ul);
  };
  addList(t("fixedList"), result.fixed.map((c) => titles.get(c) || c));
  addList(t("unfixableList"), result.unfixable.map((u) => `${titles.get(u.check) || u.check}: ${(zh() ? u.message_zh : u.message) || ""}`));
  renderReport(result.after, $("report-after"), document.createElement("p"));
  renderBackgrounds();
}
function renderBackgrounds() {
  const box = $("bg-options");
  box.replaceChildren();
  const allowed = state.spec.background_hex || [];
  allowed.forEach((hex, i) => {
    const label = document.createElement("label");
    label.className = "bg-option";
    const input = document.createElement("input");
    input.type = "radio";
    input.name = "bg";
    input.value = hex;
    input.checked = hex.toUpperCase() === state.bg;
    input.addEventListener("change", () => setBackground(hex));
    const chip = document.createElement("span");
    chip.className = "chip";
    chip.style.background = `#${hex}`;
    chip.setAttribute("aria-hidden", "true");
    const text = document.createElement("span");
    text.textContent = colourName(state.spec.background_colors[i]);
    label.append(input, chip, text);
    box.append(label);
  });
  $("bg-custom").value = `#${state.bg.toLowerCase()}`;
  $("bg-warning").hidden = allowed.length === 0 || allowed.some((h) => h.toUpperCase() === state.bg);
  $("fixed").style.backgroundColor = `#${state.bg}`;
}
function setBackground(hex) {
  // Instant: the transparent result is shown over the colour; the server renders the file on download.
  state.bg = hex.replace("#", "").toUpperCase();
  $("fixed").style.backgroundColor = `#${state.bg}`;
  const allowed = state.spec.background_hex || [];
  $("bg-warning").hidden = allowed.length === 0 || allowed.some((h) => h.toUpperCase() === state.bg);
  for (const input of document.querySelectorAll('input[name="bg"]')) input.checked = input.value.toUpperCase() === state.bg;
}
async function renderedWith(extra = {}) {
  // The server's rendering for the chosen background (cached per colour unless a sheet is asked for).
  const cached = !extra.layout && state.fixCache.get(state.bg);
  if (cached) return cached;
  const result = await api("/api/fix", photoForm({ bg_color: state.bg, ...extra }));
  if (!extra.layout) state.fixCache.set(state.bg, result);
  return result;
}
async function download(kind) {
  if (!state.fix || state.busy) return;
  setBusy(true);
  say(t("preparing"));
  try {
    const size = $("sheet-size").value;
    const result = await renderedWith(kind === "sheet" ? { layout: 1, layout_size: size } : {});
    const url = kind === "sheet" ? result.sheet : result.photo;
    const ext = kind === "sheet" ? "jpg" : result.format === "PNG" ? "png" : "jpg";
    const name = kind === "sheet" ? `${state.spec.slug}-sheet-${size}.${ext}` : `${state.spec.slug}.${ext}`;
    const blob = await (await fetch(url)).blob();
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = name;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    if (kind === "photo") renderFix();  // the report shown is the downloaded file's
    say(t("downloaded", name));
  } catch (err) {
    fail(err);
  } finally {
    setBusy(false);
  }
}

// --- wiring -----------------------------------------------------------------------------------------------
function init() {
  let lang = "en";
  try { lang = localStorage.getItem("idphoto.lang") || (navigator.language || "").toLowerCase().startsWith("zh") && "zh" || "en"; } catch { /* ignore */ }
  try { $("api-key").value = sessionStorage.getItem("idphoto.key") || ""; } catch { /* ignore */ }
  for (const b of document.querySelectorAll("[data-lang]")) b.addEventListener("click", () => setLanguage(b.dataset.lang));
  $("spec-search").addEventListener("input", renderSpecs);
  $("spec").addEventListener("change", (e) => chooseSpec(e.target.value));
  $("choose").addEventListener("click", () => $("file").click());
  $("file").addEventListener("change", (e) => usePhoto(e.target.files[0]));
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); usePhoto(e.dataTransfer.files[0]); });
  if (navigator.mediaDevices?.getUserMedia) $("camera-open").hidden = false;
  $("camera-open").addEventListener("click", openCamera);
  $("camera-close").addEventListener("click", closeCamera);
  $("camera-shoot").addEventListener("click", shoot);
  $("original").addEventListener("error", () => { $("original-note").hidden = false; });
  $("original").addEventListener("load", () => { $("original-note").hidden = true; });
  $("show-overlay").addEventListener("change", (e) => { $("overlay").style.display = e.target.checked ? "" : "none"; });
  $("fix").addEventListener("click", runFix);
  $("bg-custom").addEventListener("input", (e) => setBackground(e.target.value));
  $("download-photo").addEventListener("click", () => download("photo"));
  $("download-sheet").addEventListener("click", () => download("sheet"));
  $("api-key").addEventListener("change", (e) => {
    try { sessionStorage.setItem("idphoto.key", e.target.value.trim()); } catch { /* ignore */ }
    if (state.file && state.spec) runCheck();
  });
  setLanguage(lang);
  loadSpecs().catch(fail);
}
document.addEventListener("DOMContentLoaded", init);
