/**
 * Grafana's server serves the icon SVGs @grafana/ui's Icon fetches
 * (public/build/img/icons/...); Jest has no server, so each fetch would fail later and
 * update the Icon outside act(). As in create-plugin's .config/jest/mocks, an icon here is
 * an empty <svg> rendered at once, carrying the props Icon gives it.
 */
import React from 'react';

type Props = React.SVGProps<SVGSVGElement> & {
  src: string;
  innerRef?: React.Ref<SVGSVGElement>;
  loader?: React.ReactNode;
  cacheRequests?: boolean;
  description?: string;
  uniqueHash?: string;
  uniquifyIDs?: boolean;
  baseURL?: string;
  fetchOptions?: unknown;
  preProcessor?: unknown;
  onLoad?: unknown;
  onError?: unknown;
};

export default function InlineSVG(props: Props) {
  const {
    src,
    innerRef,
    loader,
    cacheRequests,
    description,
    uniqueHash,
    uniquifyIDs,
    baseURL,
    fetchOptions,
    preProcessor,
    onLoad,
    onError,
    title,
    ...rest
  } = props;
  return (
    <svg ref={innerRef} data-src={src} {...rest}>
      {title ? <title>{title}</title> : null}
    </svg>
  );
}
