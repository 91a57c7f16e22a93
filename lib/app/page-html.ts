/**
 * The web page's HTML: the model list, the poster (picked or dropped) and the overview, and the places where the
 * script (./page.ts) writes the backend, the messages, the genres and the explanation card. URLs are relative, so
 * an export (npm run app -- --export DIR) works from any folder of a static host.
 */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Movie genres from a poster and an overview</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 20px auto; max-width: 1100px; padding: 0 16px; color: #222; }
  h1 { font-size: 22px; margin-bottom: 4px; }
  #status { color: #555; font-size: 13px; margin-bottom: 12px; }
  .inputs { display: flex; gap: 16px; flex-wrap: wrap; align-items: flex-start; }
  #drop { border: 2px dashed #999; border-radius: 8px; padding: 12px; width: 220px; min-height: 150px; text-align: center; font-size: 13px; }
  #drop.over { border-color: #d62728; background: #fff5f5; }
  #drop img { max-width: 150px; display: block; margin: 8px auto 0; }
  #overview { width: 480px; max-width: 100%; height: 110px; font: inherit; }
  button { font-size: 15px; padding: 6px 16px; margin-top: 8px; }
  #error { color: #b42318; white-space: pre-wrap; margin: 10px 0; }
  #warnings { color: #8a5a00; white-space: pre-wrap; font-size: 13px; }
  table.genres { border-collapse: collapse; font-size: 13px; margin-top: 8px; }
  table.genres td, table.genres th { padding: 2px 10px; border-bottom: 1px solid #eee; text-align: left; }
  table.genres td.num { text-align: right; font-variant-numeric: tabular-nums; }
  tr.above td { font-weight: bold; }
  #model-info, #timing { font-size: 13px; color: #555; }
  #timing { white-space: pre-wrap; }
</style>
</head>
<body>
<h1>Movie genres from a poster and an overview</h1>
<div id="status">Loading TensorFlow.js...</div>
<label>Model <select id="model"></select></label>
<div id="model-info"></div>
<div class="inputs">
  <div id="drop">Drop a poster (JPEG or PNG) here, or<br><input type="file" id="poster" accept="image/jpeg,image/png"><div id="poster-preview"></div></div>
  <div><label for="overview">Overview</label><br><textarea id="overview" placeholder="A young wizard discovers..."></textarea><br>
  <button id="predict" disabled>Predict and explain</button></div>
</div>
<div id="error" role="alert"></div>
<div id="warnings"></div>
<div id="result"></div>
<div id="timing"></div>
<div id="card"></div>
<script type="module" src="app.js"></script>
</body>
</html>
`;
