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
    optionsSummary: "Options", optionsHint: "Applied when you press “Fix it”. Empty fields keep the document's own values.",
    sizeLegend: "Size", sizeSpec: "The document's", sizePx: "Pixels", sizeMm: "Millimetres",
    widthPx: "Width (px)", heightPx: "Height (px)", widthMm: "Width (mm)", heightMm: "Height (mm)",
    dpiLabel: "Resolution (dpi)", fileLegend: "File size", kbLabel: "Target size (KB)", beautyLegend: "Retouching",
    auto_bright: "Brighten", auto_smooth: "Smooth the skin", auto_thin_face: "Slim the face", auto_sharp: "Sharpen",
    strength: (what) => `${what}: strength`,
    watermarkLegend: "Watermark", previewLabel: "Watermarked preview (free: the photo carries a “PREVIEW” mark)",
    clothesLegend: "Outfit change", clothesNone: "Own clothes", clothesOwn: "Your own garment (PNG with transparency)",
    clothesAnchors: "Its anchors (JSON: collar, left_shoulder, right_shoulder)",
    clothesIncomplete: "A garment of your own needs both its PNG and its anchors, and no garment picked above.",
    legendArrow: "a line or window outside the photo",
    optionsStale: "The options have changed since this photo was made.", refix: "Fix again with the new options",
    bgGradient: "Gradient", bgSecond: "Second colour", renderLabel: "Gradient direction", render1: "top to bottom",
    render2: "from the centre", downloadTransparent: "Download without background (PNG)", sheetPaper: "Paper",
    sheetOptions: "Sheet options", sheetVertical: "Portrait paper", sheetMarks: "Cutting marks", sheetCanvas: "Paper colour",
    fixedInfo: (r) => `The fixed photo: ${r.size_px[0]} × ${r.size_px[1]} px, ${r.dpi} dpi, ${kb(r.bytes)} KB`
      + (r.preview ? " (watermarked preview)" : ""),
    invalidOption: (name) => `Check the option “${name}”: it is missing or out of range.`,
    above: (a, b) => (a === b ? `${a} px above the photo` : `${a}–${b} px above the photo`),
    below: (a, b) => (a === b ? `${a} px below the photo` : `${a}–${b} px below the photo`),
    rendering: "Rendering the background…",
    errors: {
      NO_FACE_DETECTED: "No face was found in this photo.", TOO_MANY_FACES: "There is more than one face in this photo.",
      CORRUPT_IMAGE: "This file is not a photo, or it is damaged.", EMPTY_IMAGE: "This file is empty.",
      INVALID_IMAGE_FORMAT_OR_SIZE: "This photo's format or size is not accepted (JPG, PNG, BMP, GIF, TIFF, WEBP, HEIC or AVIF, sides 9 to 4096 px).",
      IMAGE_FILE_SIZE_TOO_BIG: "This file is too large.", OUT_OF_QUOTA: "This API key has no credits left.",
      RATE_LIMIT_EXCEEDED: "Too many requests at once: wait a moment and try again.",
    },
    categories: { passport: "Passports", visa: "Visas", id_card: "Identity cards", residence: "Residence permits",
      driving_licence: "Driving licences", government: "ID cards and government", examination: "Examinations",
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
    optionsSummary: "更多选项", optionsHint: "点击“一键修复”时生效。留空则使用该证件的规定值。",
    sizeLegend: "尺寸", sizeSpec: "证件规定尺寸", sizePx: "像素", sizeMm: "毫米",
    widthPx: "宽(像素)", heightPx: "高(像素)", widthMm: "宽(毫米)", heightMm: "高(毫米)",
    dpiLabel: "分辨率(dpi)", fileLegend: "文件大小", kbLabel: "目标大小(KB)", beautyLegend: "美颜",
    auto_bright: "提亮", auto_smooth: "磨皮", auto_thin_face: "瘦脸", auto_sharp: "锐化",
    strength: (what) => `${what}:强度`,
    watermarkLegend: "水印", previewLabel: "带水印的预览(免费:照片上有“PREVIEW”字样)",
    clothesLegend: "换装", clothesNone: "原有服装", clothesOwn: "自己的服装(带透明背景的 PNG)",
    clothesAnchors: "锚点(JSON:collar、left_shoulder、right_shoulder)",
    clothesIncomplete: "自定义服装需要 PNG 和锚点,且不要同时选择上面的服装。",
    legendArrow: "在照片之外的线或范围",
    optionsStale: "选项已更改,当前照片是按旧选项生成的。", refix: "按新选项重新修复",
    bgGradient: "渐变", bgSecond: "第二种颜色", renderLabel: "渐变方式", render1: "从上到下",
    render2: "从中心向外", downloadTransparent: "下载透明背景照片(PNG)", sheetPaper: "纸张",
    sheetOptions: "排版选项", sheetVertical: "纵向排版", sheetMarks: "裁切线", sheetCanvas: "纸张颜色",
    fixedInfo: (r) => `修复后的照片:${r.size_px[0]} × ${r.size_px[1]} 像素,${r.dpi} dpi,${kb(r.bytes)} KB`
      + (r.preview ? "(带水印的预览)" : ""),
    invalidOption: (name) => `请检查选项“${name}”:未填写或超出范围。`,
    above: (a, b) => (a === b ? `在照片上方 ${a} 像素处` : `在照片上方 ${a}–${b} 像素处`),
    below: (a, b) => (a === b ? `在照片下方 ${a} 像素处` : `在照片下方 ${a}–${b} 像素处`),
    rendering: "正在生成背景…",
    errors: {
      NO_FACE_DETECTED: "照片中没有检测到人脸。", TOO_MANY_FACES: "照片中有不止一张人脸。",
      CORRUPT_IMAGE: "这个文件不是照片,或已经损坏。", EMPTY_IMAGE: "这个文件是空的。",
      INVALID_IMAGE_FORMAT_OR_SIZE: "照片的格式或尺寸不被接受(JPG、PNG、BMP、GIF、TIFF、WEBP、HEIC 或 AVIF,边长 9 至 4096 像素)。",
      IMAGE_FILE_SIZE_TOO_BIG: "文件太大。", OUT_OF_QUOTA: "该 API 密钥的额度已用完。",
      RATE_LIMIT_EXCEEDED: "请求过于频繁:请稍后再试。",
    },
    categories: { passport: "护照", visa: "签证", id_card: "身份证", residence: "居留证件", driving_licence: "驾驶执照",
      government: "身份证件与政务", examination: "考试报名",
      qualification: "职业资格", student: "学生", enrollment: "入学", common: "常用尺寸" },
    colours: { white: "白色", light_gray: "浅灰色", light_blue: "浅蓝色", blue: "蓝色", red: "红色",
      gray: "灰色", off_white: "米白色", dark_blue: "深蓝色" },
  },
};
const CATEGORY_ORDER = ["passport", "visa", "id_card", "residence", "driving_licence", "government", "examination",
  "qualification", "student", "enrollment", "common"];
const STATUS_ORDER = { fail: 0, not_assessed: 1, not_applicable: 2, pass: 3 };
const SVG = "http://www.w3.org/2000/svg";

const BEAUTY = [["auto_bright", "bright_factor"], ["auto_smooth", "smooth_factor"],
  ["auto_thin_face", "thin_face_factor"], ["auto_sharp", "sharp_factor"]];

const state = {
  lang: "en", specs: [], spec: null, file: null, photoUrl: null,
  report: null, fix: null, bg: null, fixCache: new Map(), stream: null, busy: false, recheck: false,
  fixOpts: {},  // the Options used for the photo shown: every later download asks for the same
};
const $ = (id) => document.getElementById(id);
const t = (key, ...args) => {
  const value = STRINGS[state.lang][key] ?? STRINGS.en[key];
  return typeof value === "function" ? value(...args) : value;
};
function colourName(name) { return STRINGS[state.lang].colours[name] || name.replace(/_/g, " "); }
const zh = () => state.lang === "zh";
const kb = (bytes) => Math.round(bytes / 1024 * 10) / 10;

// --- language ------------------------------------------------------------------------------------
function setLanguage(lang) {
  state.lang = lang in STRINGS ? lang : "en";
  try { localStorage.setItem("idphoto.lang", state.lang); } catch { /* private mode */ }
  document.documentElement.lang = zh() ? "zh-CN" : "en";
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", t(el.dataset.i18nAria));
  for (const el of document.querySelectorAll("[data-i18n-alt]")) el.alt = t(el.dataset.i18nAlt);
  for (const [flag, factor] of BEAUTY) $(`opt-${factor}`).setAttribute("aria-label", t("strength", t(flag)));
  for (const b of document.querySelectorAll("[data-lang]")) b.setAttribute("aria-pressed", String(b.dataset.lang === state.lang));
  for (const el of document.querySelectorAll(".garment span[data-en]")) el.textContent = zh() ? el.dataset.zh : el.dataset.en;
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
  for (const id of ["fix", "refix", "download-photo", "download-transparent", "download-sheet", "choose"]) $(id).disabled = on;
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
  // The issuing country by code and by its English and Chinese names; a word of digits is an id
  // only whole (7601 is not 127601), else it may be part of a name or size.
  const text = [spec.name, spec.name_zh, spec.slug, spec.country || "", spec.country_name || "",
    spec.country_name_zh || "", spec.category, t("categories")[spec.category] || "",
    `${spec.size_px[0]}x${spec.size_px[1]}`].join(" ").toLowerCase();
  return words.every((w) => (/^\d+$/.test(w) && String(spec.id) === w) || text.includes(w));
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
  showSizeFields();
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
  for (const [k, v] of Object.entries(extra)) form.append(k, v instanceof Blob ? v : String(v));
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
function formatNumber(v) {
  return Math.abs(v) >= 10 ? String(Math.round(v)) : String(Math.round(v * 10) / 10);
}
function formatValue(row) {
  // Every row, passing or not, shows what was measured with its unit; a rule with no unit is a
  // score on the seed's 0-100 scale, shown as such.
  const v = row.value;
  if (v === null || v === undefined) return "—";
  const unit = row.unit || "";
  const tail = !unit ? "" : ["%", "°"].includes(unit) ? unit : ` ${unit}`;
  if (Array.isArray(v)) return v.map((x) => (typeof x === "number" ? formatNumber(x) : String(x))).join(" × ") + tail;
  if (typeof v === "number") {
    if (!unit || unit === "score") return `${formatNumber(v)} / 100`;
    if (unit === "bytes") return `${kb(v)} KB (${v} bytes)`;
    return `${formatNumber(v)}${tail}`;
  }
  if (typeof v === "boolean") return v ? "✓" : "✗";
  return String(v) + tail;
}
const REPORT_COLUMNS = ["colResult", "colCheck", "colMeasured", "colExpected", "colReason"];
function renderReport(report, table, verdict) {
  if (!table.tHead) {  // both report tables share one header, written here once
    // Explicit roles: on a phone the rows are laid out as blocks, which would otherwise drop the
    // table's semantics in some browsers.
    table.setAttribute("role", "table");
    const head = table.createTHead();
    head.setAttribute("role", "rowgroup");
    table.tBodies[0].setAttribute("role", "rowgroup");
    const tr = head.insertRow();
    tr.setAttribute("role", "row");
    for (const key of REPORT_COLUMNS) {
      const th = document.createElement("th");
      th.scope = "col";
      th.setAttribute("role", "columnheader");
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
    tr.setAttribute("role", "row");
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
      cell.setAttribute("role", i === 1 ? "rowheader" : "cell");
      cell.dataset.label = t(REPORT_COLUMNS[i]);
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
// Everything is drawn inside the photo: a window or line beyond an edge becomes an arrow at that edge,
// pointing out of the photo, labelled with what lies there and how far.
const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
const fixed1 = (v) => Math.round(v * 10) / 10;
function textEm(text) {  // rough width in ems: CJK characters are square, Latin ones about half
  let em = 0;
  for (const ch of text) em += ch.codePointAt(0) >= 0x2e80 ? 1.02 : 0.64;
  return em;
}
function arrow(L, edge, group, lines, title) {
  const { w, h, s } = L;
  const off = L.slots[edge]++ * s * 1.7;  // a second arrow at the same edge goes under the first
  const x0 = s * 0.5 + 2, hw = s * 0.45, sw = s * 0.16;
  const pts = [[x0, 1], [x0 + hw, s * 0.6], [x0 + sw, s * 0.6], [x0 + sw, s * 1.45], [x0 - sw, s * 1.45],
    [x0 - sw, s * 0.6], [x0 - hw, s * 0.6]].map(([x, y]) => {
    const yy = edge === "top" ? y + off : h - y - off;
    return [fixed1(clamp(x, 0, w)), fixed1(clamp(yy, 0, h))];
  });
  const d = `M${pts.map(([x, y]) => `${x} ${y}`).join(" L")} Z`;
  group.append(svgEl("path", { class: "offscreen-arrow", "data-edge": edge, d, "stroke-width": s / 14 }, title));
  if (!lines.length) return;
  const tx = x0 + hw + s * 0.3;
  const avail = Math.max(1, w - tx - 4);
  const fs = Math.max(7, Math.min(s * 0.68, avail / Math.max(...lines.map(textEm))));
  const text = svgEl("text", { class: "offscreen", "data-edge": edge, x: fixed1(tx), y: 0, "font-size": fixed1(fs),
    "stroke-width": fixed1(fs / 7) });
  lines.forEach((line, i) => {
    const y = edge === "top" ? off + s * 0.1 + fs * (0.9 + 1.15 * i)
      : h - off - s * 0.1 - fs * (0.25 + 1.15 * (lines.length - 1 - i));
    const span = svgEl("tspan", { x: fixed1(tx), y: fixed1(clamp(y, 0, h)) });
    span.textContent = line;
    text.append(span);
  });
  text.setAttribute("y", text.firstChild.getAttribute("y"));
  group.append(text);
}
function band(L, cls, win, title) {
  // An open side of the window runs to the photo's edge.
  const { w, h } = L;
  const top = win[0] ?? 0;
  const bottom = win[1] ?? h;
  const g = svgEl("g", { class: `${cls}-group` });
  const vt = clamp(top, 0, h), vb = clamp(bottom, 0, h);
  if (vb > vt) g.append(svgEl("rect", { class: cls, x: 0, y: vt, width: w, height: vb - vt, "stroke-width": w / 200 }, title));
  const r = (v) => Math.round(v);
  if (bottom <= 0) arrow(L, "top", g, [`↑ ${title}`, t("above", r(-bottom), r(-top))], title);
  else if (top >= h) arrow(L, "bottom", g, [`↓ ${title}`, t("below", r(top - h), r(bottom - h))], title);
  else {  // partly outside: the part inside is drawn, an arrow says it goes on
    if (top < 0) arrow(L, "top", g, [], `${title}: ${t("above", 0, r(-top))}`);
    if (bottom > h) arrow(L, "bottom", g, [], `${title}: ${t("below", 0, r(bottom - h))}`);
  }
  return g;
}
function hline(L, cls, y, title) {
  const { w, h, sw } = L;
  const g = svgEl("g", { class: `${cls}-group` });
  const r = (v) => Math.round(v);
  if (y < 0) arrow(L, "top", g, [`↑ ${title}`, t("above", r(-y), r(-y))], title);
  else if (y > h) arrow(L, "bottom", g, [`↓ ${title}`, t("below", r(y - h), r(y - h))], title);
  else g.append(svgEl("line", { class: cls, x1: 0, x2: w, y1: y, y2: y, "stroke-width": sw }, title));
  return g;
}
function clipSegment(x1, y1, x2, y2, w, h) {
  // Liang-Barsky: the part of a segment inside [0, w] x [0, h], or null.
  let t0 = 0, t1 = 1;
  const dx = x2 - x1, dy = y2 - y1;
  for (const [p, q] of [[-dx, x1], [dx, w - x1], [-dy, y1], [dy, h - y1]]) {
    if (p === 0) { if (q < 0) return null; continue; }
    const r = q / p;
    if (p < 0) { if (r > t1) return null; if (r > t0) t0 = r; } else { if (r < t0) return null; if (r < t1) t1 = r; }
  }
  return [x1 + t0 * dx, y1 + t0 * dy, x1 + t1 * dx, y1 + t1 * dy];
}
function renderOverlay(o) {
  const svg = $("overlay");
  svg.replaceChildren();
  if (!o) return;
  const [w, h] = o.size;
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("preserveAspectRatio", "none");
  const sw = Math.max(1.5, w / 250);
  const L = { w, h, sw, s: Math.max(12, Math.min(w, h) / 14), slots: { top: 0, bottom: 0 } };
  if (o.crown_window) svg.append(band(L, "crown-window", o.crown_window, t("legendCrownWindow")));
  if (o.eye_window) svg.append(band(L, "eye-window", o.eye_window, t("legendEyeWindow")));
  if (o.face_box) {
    const [x, y, bw, bh] = o.face_box;
    const x0 = clamp(x, 0, w), y0 = clamp(y, 0, h), x1 = clamp(x + bw, 0, w), y1 = clamp(y + bh, 0, h);
    if (x1 > x0 && y1 > y0) {
      svg.append(svgEl("rect", { class: "face-box", x: x0, y: y0, width: x1 - x0, height: y1 - y0, "stroke-width": sw }, t("legendFace")));
    }
  }
  if (o.eyes) {
    const [[x1, y1], [x2, y2]] = o.eyes;
    const dx = x2 - x1, dy = y2 - y1;
    // The eye line runs past both eyes by half their distance, so its tilt reads at a glance.
    const seg = clipSegment(x1 - dx / 2, y1 - dy / 2, x2 + dx / 2, y2 + dy / 2, w, h);
    if (seg) {
      const [a1, b1, a2, b2] = seg.map(fixed1);
      svg.append(svgEl("line", { class: "eye-line", x1: a1, y1: b1, x2: a2, y2: b2, "stroke-width": sw }, t("legendEyes")));
    }
    for (const [x, y] of o.eyes) {
      if (x >= 0 && x <= w && y >= 0 && y <= h) svg.append(svgEl("circle", { class: "eye", cx: x, cy: y, r: sw * 1.6 }));
    }
  }
  if (o.crown_y !== null && o.crown_y !== undefined) svg.append(hline(L, "crown-line", o.crown_y, t("legendCrown")));
  if (o.chin_y !== null && o.chin_y !== undefined) svg.append(hline(L, "chin-line", o.chin_y, t("legendChin")));
  $("overlay-desc").textContent = t("overlayDesc", o);
  svg.style.display = $("show-overlay").checked ? "" : "none";
}
function describeOverlay(o, lang) {
  const h = o.size[1];
  const r = (v) => (v === null || v === undefined ? "—" : Math.round(v));
  const en = lang !== "zh";
  const win = (v) => {
    if (!v) return "—";
    const top = v[0] ?? 0, bottom = v[1] ?? h;
    if (bottom <= 0) return STRINGS[lang].above(r(-bottom), r(-top));
    if (top >= h) return STRINGS[lang].below(r(top - h), r(bottom - h));
    return `y=${r(top)}–${r(bottom)}`;
  };
  const at = (y) => (y === null || y === undefined ? "—" : y < 0 ? STRINGS[lang].above(r(-y), r(-y))
    : y > h ? STRINGS[lang].below(r(y - h), r(y - h)) : `y=${r(y)}`);
  if (!en) {
    const inWin = (v) => win(v).replace(/^在/, "");  // "应在照片上方…", not "应在 在照片上方…"
    return `标注(像素,自上而下):头顶 ${at(o.crown_y)},下巴 ${at(o.chin_y)};头顶应在 ${inWin(o.crown_window)},`
      + `眼睛连线应在 ${inWin(o.eye_window)}。`;
  }
  return `Overlay (pixels from the top): top of the head at ${at(o.crown_y)}, chin at ${at(o.chin_y)}; `
    + `the top of the head should be at ${win(o.crown_window)} and the eye line at ${win(o.eye_window)}.`;
}

// --- options ------------------------------------------------------------------------------------------------
// Each control carries the /api/fix parameter it sets (data-param); an empty field sends nothing, so the
// document's own value applies.
function buildBeauty() {
  for (const box of document.querySelectorAll(".beauty")) {
    const { flag, factor } = box.dataset;
    const label = document.createElement("label");
    const check = document.createElement("input");
    check.type = "checkbox";
    check.id = `opt-${flag}`;
    check.dataset.param = flag;
    const name = document.createElement("span");
    name.dataset.i18n = flag;
    label.append(check, " ", name);
    const range = document.createElement("input");
    range.type = "range";
    range.id = `opt-${factor}`;
    range.dataset.param = factor;
    Object.assign(range, { min: "0", max: "1", step: "0.05", value: "0.5", disabled: true });
    const out = document.createElement("span");  // not <output>: its implicit role would be a second status line
    out.className = "value";
    out.setAttribute("aria-hidden", "true");  // the slider announces its own value
    out.textContent = range.value;
    check.addEventListener("change", () => { range.disabled = !check.checked; });
    range.addEventListener("input", () => { out.textContent = range.value; });
    box.append(label, range, out);
  }
}
async function buildClothes() {
  // The outfit-change picker: "none" and each garment of GET /api/clothes, with its thumbnail.
  const box = $("clothes");
  const add = (id, name, thumb) => {
    const label = document.createElement("label");
    label.className = "garment";
    const radio = document.createElement("input");
    Object.assign(radio, { type: "radio", name: "clothes", value: id, checked: id === "" });
    radio.id = `clothes-${id || "none"}`;
    label.append(radio);
    if (thumb) {
      const img = document.createElement("img");
      Object.assign(img, { src: thumb, alt: "", loading: "lazy", width: 64 });
      label.append(img);
    }
    const span = document.createElement("span");
    if (name) Object.assign(span.dataset, name);  // en and zh: setLanguage switches them
    else span.dataset.i18n = "clothesNone";
    span.textContent = name ? (zh() ? name.zh : name.en) : t("clothesNone");
    label.append(span);
    box.append(label);
  };
  add("", null, null);
  try {
    const body = await (await fetch("/api/clothes")).json();
    for (const g of body.clothes) add(g.id, { en: g.name, zh: g.name_zh }, g.thumbnail);
  } catch { /* no picker: the rest of the page works */ }
}
function sizeMode() {
  return document.querySelector('input[name="size-mode"]:checked').value;
}
function showSizeFields() {
  const mode = sizeMode();
  $("size-px").hidden = mode !== "px";
  $("size-mm").hidden = mode !== "mm";
  for (const id of ["opt-px_width", "opt-px_height"]) $(id).required = mode === "px";
  for (const id of ["opt-mm_width", "opt-mm_height"]) $(id).required = mode === "mm";
  $("opt-dpi").placeholder = state.spec ? String(state.spec.dpi) : "";
}
function optionParams() {
  // The Options panel as /api/fix fields, or null (with the field focused) when one is not valid.
  const mode = sizeMode();
  const numbers = [...(mode === "px" ? ["opt-px_width", "opt-px_height"] : []),
    ...(mode === "mm" ? ["opt-mm_width", "opt-mm_height"] : []), "opt-dpi", "opt-kb"];
  const out = {};
  for (const id of numbers) {
    const el = $(id);
    if (!el.checkValidity()) {
      $("options").open = true;
      el.focus();
      say(t("invalidOption", el.closest("label").querySelector("span").textContent), true);
      return null;
    }
    if (el.value.trim() !== "") out[el.dataset.param] = el.value.trim();
  }
  if (mode === "mm" && out.dpi === undefined) out.dpi = String(state.spec.dpi);  // mm become px through dpi
  for (const [flag, factor] of BEAUTY) {
    if ($(`opt-${flag}`).checked) {
      out[flag] = "1";
      out[factor] = $(`opt-${factor}`).value;
    }
  }
  const garment = document.querySelector('input[name="clothes"]:checked');
  if (garment && garment.value) out.clothes_id = garment.value;
  const own = $("opt-clothes_file").files[0];
  const anchors = $("opt-clothes_anchors").value.trim();
  if (own || anchors) {
    if (!own || !anchors || out.clothes_id) {
      $("options").open = true;
      (own ? $("opt-clothes_anchors") : $("opt-clothes_file")).focus();
      say(t("clothesIncomplete"), true);
      return null;
    }
    out.clothes_file = own;
    out.clothes_anchors = anchors;
  }
  if ($("opt-preview").checked) out.preview = "1";
  return out;
}
function optionsChanged() {
  if (state.fix) $("options-stale").hidden = false;
}

// --- the background -------------------------------------------------------------------------------------------
const hexOf = (input) => input.value.replace("#", "").toUpperCase();
function bgParams() {
  const out = { bg_color: state.bg };
  if ($("bg-gradient").checked) {
    out.bg_color2 = hexOf($("bg-color2"));
    out.render = $("bg-render").value;
  }
  return out;
}
const bgKey = () => Object.values(bgParams()).join("|");
function paintBackdrop() {
  // The transparent cut-out shown over the chosen background, drawn as the server draws it
  // (render 1: bg_color at the top to bg_color2 at the bottom; render 2: bg_color2 at the centre to
  // bg_color at a distance of the longer side).
  const img = $("fixed");
  img.style.background = "";
  if (state.fixOpts.preview) return;  // the preview is the server's own opaque rendering
  const c1 = `#${state.bg}`;
  if (!$("bg-gradient").checked) {
    img.style.backgroundColor = c1;
    return;
  }
  const c2 = `#${hexOf($("bg-color2"))}`;
  if ($("bg-render").value === "1") img.style.background = `linear-gradient(${c1}, ${c2})`;
  else img.style.background = `radial-gradient(circle ${Math.max(img.clientWidth, img.clientHeight, 1)}px at 50% 50%, ${c2}, ${c1})`;
}
let previewTimer = 0;
function backgroundChanged() {
  const allowed = state.spec.background_hex || [];
  $("bg-warning").hidden = allowed.length === 0 || allowed.some((h) => h.toUpperCase() === state.bg);
  for (const input of document.querySelectorAll('input[name="bg"]')) input.checked = input.value.toUpperCase() === state.bg;
  $("gradient-box").hidden = !$("bg-gradient").checked;
  paintBackdrop();
  if (state.fixOpts.preview) {  // no transparent cut-out comes with a preview: the server renders each choice
    clearTimeout(previewTimer);
    previewTimer = setTimeout(showRendered, 300);
  }
}
async function showRendered() {
  if (state.busy) {
    previewTimer = setTimeout(showRendered, 300);
    return;
  }
  setBusy(true);
  say(t("rendering"));
  try {
    const result = await renderedWith();
    $("fixed").src = result.photo;
    renderFix();
    say("");
  } catch (err) {
    fail(err);
  } finally {
    setBusy(false);
  }
}
function setBackground(hex) {
  state.bg = hex.replace("#", "").toUpperCase();
  backgroundChanged();
}

// --- fixing -----------------------------------------------------------------------------------------------
async function runFix() {
  if (!state.file || !state.spec || state.busy) return;
  const opts = optionParams();
  if (!opts) return;
  setBusy(true);
  say(t("fixing"));
  try {
    // A background chosen for an earlier result is kept; a preview has no transparent cut-out.
    const bg = state.bg ? bgParams() : {};
    const result = await api("/api/fix", photoForm({ ...opts, ...bg, ...(opts.preview ? {} : { transparent: 1 }) }));
    state.fix = result;
    state.fixOpts = opts;
    state.bg = result.background.toUpperCase();
    state.fixCache.clear();
    state.fixCache.set(bgKey(), result);
    $("fixed").src = opts.preview ? result.photo : result.transparent;
    $("options-stale").hidden = true;
    $("download-transparent").hidden = Boolean(opts.preview);
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
  const result = state.fixCache.get(bgKey()) || state.fix;
  const verdict = $("fix-verdict");
  verdict.className = "verdict " + (result.passed ? "pass" : "fail");
  verdict.textContent = result.passed ? t("fixedPass") : t("fixedFail");
  $("fixed-caption").textContent = t("fixedInfo", { ...result, preview: state.fixOpts.preview });
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
  $("gradient-box").hidden = !$("bg-gradient").checked;
  paintBackdrop();
}
function sheetParams() {
  const out = { layout: 1, layout_size: $("sheet-size").value, layout_bg_color: hexOf($("sheet-bg")) };
  if ($("sheet-vertical").checked) out.layout_vertical = 1;
  if ($("sheet-marks").checked) out.crop_marks = 1;
  return out;
}
async function renderedWith(extra = {}) {
  // The server's rendering of the shown photo (same options) for the chosen background; cached per
  // background unless a sheet is asked for.
  const key = bgKey();
  const cached = !extra.layout && state.fixCache.get(key);
  if (cached) return cached;
  const result = await api("/api/fix", photoForm({ ...state.fixOpts, ...bgParams(), ...extra }));
  if (!extra.layout) state.fixCache.set(key, result);
  return result;
}
function save(url, name) {
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
}
async function download(kind) {
  if (!state.fix || state.busy) return;
  if (kind === "transparent") {  // the cut-out that came with the fix: nothing to ask the server
    const name = `${state.spec.slug}-transparent.png`;
    save(state.fix.transparent, name);
    say(t("downloaded", name));
    return;
  }
  setBusy(true);
  say(t("preparing"));
  try {
    const sheet = kind === "sheet" ? sheetParams() : null;
    const result = await renderedWith(sheet || {});
    const url = sheet ? result.sheet : result.photo;
    const ext = sheet ? "jpg" : result.format === "PNG" ? "png" : "jpg";
    const name = sheet ? `${state.spec.slug}-sheet-${sheet.layout_size}.${ext}` : `${state.spec.slug}.${ext}`;
    const blob = await (await fetch(url)).blob();
    const href = URL.createObjectURL(blob);
    save(href, name);
    setTimeout(() => URL.revokeObjectURL(href), 10000);
    if (!sheet) renderFix();  // the report shown is the downloaded file's
    say(t("downloaded", name));
  } catch (err) {
    fail(err);
  } finally {
    setBusy(false);
  }
}

// --- wiring -----------------------------------------------------------------------------------------------
function init() {
  buildBeauty();
  buildClothes();
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
  $("refix").addEventListener("click", runFix);
  for (const input of document.querySelectorAll('input[name="size-mode"]')) input.addEventListener("change", showSizeFields);
  $("options").addEventListener("input", optionsChanged);
  $("options").addEventListener("change", optionsChanged);
  $("bg-custom").addEventListener("input", (e) => setBackground(e.target.value));
  for (const id of ["bg-gradient", "bg-color2", "bg-render"]) $(id).addEventListener("input", backgroundChanged);
  $("fixed").addEventListener("load", paintBackdrop);  // a centre gradient's radius is the shown photo's longer side
  $("download-photo").addEventListener("click", () => download("photo"));
  $("download-transparent").addEventListener("click", () => download("transparent"));
  $("download-sheet").addEventListener("click", () => download("sheet"));
  $("api-key").addEventListener("change", (e) => {
    try { sessionStorage.setItem("idphoto.key", e.target.value.trim()); } catch { /* ignore */ }
    if (state.file && state.spec) runCheck();
  });
  setLanguage(lang);
  loadSpecs().catch(fail);
}
document.addEventListener("DOMContentLoaded", init);
