/**
 * Icons of the extension.
 */
import { LabIcon } from '@jupyterlab/ui-components';

const mderiveSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <text x="12" y="19" font-family="serif" font-size="20" font-style="italic" font-weight="bold" text-anchor="middle">∂</text>
  </g>
</svg>`;

/** A ∂ glyph: the `%%mderive` cell. */
export const mderiveIcon = new LabIcon({
  name: 'matcalc-magic:mderive',
  svgstr: mderiveSvg
});
