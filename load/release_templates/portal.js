(function(){
  const data = JSON.parse(document.getElementById('chart-data').textContent);
  const NS = 'http://www.w3.org/2000/svg';
  const palette = ['#1f6feb','#e8871e','#2da44e','#8250df','#cf222e','#0e8a9e','#bf8700','#6e7781','#d4408b','#54aeff'];
  function el(name, attrs, text){ const e = document.createElementNS(NS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]); if (text !== undefined) e.textContent = text; return e; }
  function fmt(v){ return v === null || v === undefined ? '—' : v.toLocaleString('en-US', {minimumFractionDigits:2, maximumFractionDigits:2}); }
  function tip(node, text){ node.appendChild(el('title', {}, text)); return node; }

  function classChart(){
    const svg = document.getElementById('chart-classes');
    const reports = [...new Set(data.classes.map(d => d.report))];
    const codes = [...new Set(data.classes.map(d => d.code))].sort();
    const names = {}; data.classes.forEach(d => names[d.code] = d.name);
    const color = c => palette[codes.indexOf(c) % palette.length];
    const totals = reports.map(r => data.classes.filter(d => d.report === r).reduce((s, d) => s + d.amount, 0));
    const max = Math.max(...totals, 1), left = 4, width = 860, barH = 20, labelH = 17, gap = 12, top = 4;
    const rowH = labelH + barH + gap, plot = width - left - 90;
    svg.setAttribute('viewBox', `0 0 ${width} ${top + reports.length * rowH + 18}`);
    reports.forEach((r, i) => {
      const y = top + i * rowH;
      svg.appendChild(el('text', {x: left, y: y + 12, 'font-size': 13, 'font-weight': 600, fill: '#1d2733'}, r));
      let x = left;
      data.classes.filter(d => d.report === r).sort((a, b) => a.code.localeCompare(b.code)).forEach(d => {
        const w = d.amount / max * plot;
        svg.appendChild(tip(el('rect', {x: x, y: y + labelH, width: Math.max(w, 0.5), height: barH, fill: color(d.code), rx: 2}),
          `${r}\n${d.code} ${d.name}: ${fmt(d.amount)} 万元`));
        x += w;
      });
      svg.appendChild(el('text', {x: x + 6, y: y + labelH + barH / 2 + 4, 'font-size': 12, fill: '#66727f'}, fmt(totals[i])));
    });
    svg.appendChild(el('text', {x: left, y: top + reports.length * rowH + 12, 'font-size': 11, fill: '#66727f'}, '万元 (10,000 CNY), stacked by function class'));
    const legend = document.getElementById('legend-classes');
    codes.forEach(c => { const s = document.createElement('span'); const i = document.createElement('i');
      i.style.background = color(c); s.appendChild(i); s.appendChild(document.createTextNode(`${c} ${names[c]}`)); legend.appendChild(s); });
  }

  function executionChart(){
    const svg = document.getElementById('chart-execution');
    const select = document.getElementById('execution-report');
    const reports = [...new Set(data.execution.map(d => d.report))];
    reports.forEach(r => { const o = document.createElement('option'); o.value = r; o.textContent = r; select.appendChild(o); });
    function draw(){
      while (svg.firstChild) svg.removeChild(svg.firstChild);
      const rows = data.execution.filter(d => d.report === select.value);
      const max = Math.max(...rows.map(d => Math.max(d.budget || 0, d.actual || 0)), 1);
      const left = 330, width = 860, rowH = 34, top = 8, plot = width - left - 150;
      svg.setAttribute('viewBox', `0 0 ${width} ${top + rows.length * rowH + 24}`);
      rows.forEach((d, i) => {
        const y = top + i * rowH;
        svg.appendChild(el('text', {x: left - 8, y: y + 15, 'text-anchor': 'end', 'font-size': 12, fill: '#1d2733'}, `${d.code} ${d.name}`.slice(0, 44)));
        if (d.budget !== null) svg.appendChild(tip(el('rect', {x: left, y: y + 2, width: Math.max(d.budget / max * plot, 0.5), height: 12, fill: '#9db7d9', rx: 2}), `${d.name}: budget ${fmt(d.budget)} 万元`));
        if (d.actual !== null) svg.appendChild(tip(el('rect', {x: left, y: y + 15, width: Math.max(d.actual / max * plot, 0.5), height: 12, fill: '#1f6feb', rx: 2}), `${d.name}: actual ${fmt(d.actual)} 万元`));
        const end = left + Math.max(d.budget || 0, d.actual || 0) / max * plot;
        const label = d.rate === null ? `actual ${fmt(d.actual)} (no budget printed)` : `${(d.rate * 100).toFixed(1)} % executed`;
        svg.appendChild(el('text', {x: end + 6, y: y + 20, 'font-size': 12, fill: d.rate !== null && (d.rate > 1.1 || d.rate < 0.5) ? '#c62828' : '#66727f'}, label));
      });
      svg.appendChild(el('text', {x: left, y: top + rows.length * rowH + 14, 'font-size': 11, fill: '#66727f'}, 'light: 年初预算 budget · dark: 支出决算 actual (万元)'));
    }
    select.addEventListener('change', draw);
    if (reports.length) draw(); else svg.parentNode.replaceChild(document.createTextNode('No final account in this release prints budget against actual.'), svg);
  }

  classChart();
  executionChart();
})();
