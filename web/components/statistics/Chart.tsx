'use client';

import { BarChart, LineChart, PieChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';
import { useEffect, useRef, useState } from 'react';
import type { ChartOption } from '@/lib/statistics/charts';

// Only the pieces the dashboard uses (keeps the chunk small); SVG draws the same with or without a GPU.
echarts.use([BarChart, LineChart, PieChart, GridComponent, LegendComponent, TooltipComponent, SVGRenderer]);

/** One echarts chart that follows its box's size; data-rendered="1" once echarts has drawn it. */
export function Chart({ option, testId, title }: { option: ChartOption; testId: string; title: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);
  const [rendered, setRendered] = useState(false);

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const instance = echarts.init(el, undefined, { renderer: 'svg' });
    chart.current = instance;
    instance.on('finished', () => setRendered(true));
    const observer = new ResizeObserver(() => instance.resize());
    observer.observe(el);
    return () => {
      observer.disconnect();
      instance.dispose();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    chart.current?.setOption(option, { notMerge: true });
  }, [option]);

  return (
    <section className="rounded bg-white p-3 shadow-sm">
      <h2 className="mb-1 text-sm font-semibold text-slate-700">{title}</h2>
      <div ref={ref} data-testid={testId} data-rendered={rendered ? '1' : '0'} className="h-64 w-full" />
    </section>
  );
}
